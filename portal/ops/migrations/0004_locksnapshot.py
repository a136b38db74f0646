"""Lock snapshots: the blocking tree and summary of a target at one moment."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ops', '0003_roles'),
    ]

    operations = [
        migrations.CreateModel(
            name='LockSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('taken_at', models.DateTimeField(default=django.utils.timezone.now, help_text='When the snapshot was read from the target.')),
                ('reason', models.CharField(choices=[('manual', 'On demand'), ('periodic', 'Periodic'), ('run_failed', 'Run failed on lock_timeout')], help_text='Why it was taken.', max_length=20)),
                ('actor', models.CharField(blank=True, help_text='Who asked: a username, schedule:<name> or system.', max_length=150)),
                ('summary', models.JSONField(default=dict, help_text='The summary strip (ActivitySummary.to_json()).')),
                ('snapshot', models.JSONField(default=dict, help_text='The whole snapshot (Snapshot.to_json()).')),
                ('root_blockers', models.PositiveIntegerField(default=0, help_text='Sessions that block others and wait on nobody.')),
                ('blocked', models.PositiveIntegerField(default=0, help_text='Sessions waiting behind another one.')),
                ('run', models.ForeignKey(blank=True, help_text='The run whose failure it records (reason run_failed).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='lock_snapshots', to='ops.run')),
                ('target', models.ForeignKey(help_text='The target looked at.', on_delete=django.db.models.deletion.CASCADE, related_name='lock_snapshots', to='ops.target')),
            ],
            options={
                'ordering': ['-taken_at'],
                'indexes': [models.Index(fields=['target', '-taken_at'], name='locksnap_target_taken_idx'), models.Index(fields=['taken_at'], name='locksnap_taken_idx')],
            },
        ),
    ]
