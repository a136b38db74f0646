"""Verification reports: the stored report of each verification run."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ops', '0005_run_safety_findings_target_lock_retries'),
    ]

    operations = [
        migrations.CreateModel(
            name='VerificationReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, help_text='When the report was stored.')),
                ('status', models.CharField(choices=[('pass', 'Pass'), ('warn', 'Warn'), ('fail', 'Fail')], help_text='Worst verdict of all findings.', max_length=10)),
                ('mode', models.CharField(help_text='source (against a SQLite file) or target-only.', max_length=20)),
                ('report', models.JSONField(help_text='The whole report (Report.to_json()).')),
                ('source_path', models.CharField(blank=True, help_text='SQLite source, relative to MOP_IMPORT_DIR.', max_length=500)),
                ('source_sha256', models.CharField(blank=True, help_text='sha256 of the SQLite source file.', max_length=64)),
                ('source_size', models.BigIntegerField(blank=True, help_text='Size of the SQLite source in bytes.', null=True)),
                ('copy_run', models.ForeignKey(blank=True, help_text='The copy run this verification followed automatically, if any.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='ops.run')),
                ('run', models.OneToOneField(help_text='The verification run.', on_delete=django.db.models.deletion.PROTECT, related_name='verification_report', to='ops.run')),
                ('target', models.ForeignKey(help_text='The target verified.', on_delete=django.db.models.deletion.PROTECT, related_name='verification_reports', to='ops.target')),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['target', '-created_at'], name='verifyreport_target_idx')],
            },
        ),
    ]
