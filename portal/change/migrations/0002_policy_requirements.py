"""The policy takes over what a run needs before its first step: rehearsal (and how old), backup scope, open drift.

Data: a policy that required a backup (no scope could be said) asks for a
full backup; non-production policies allow open drift (only production runs
were ever refused for it). The per-target values are carried by
``assure.0002_requirements_on_policy``.
"""

import django.core.validators
from django.db import migrations, models


def forward(apps, schema_editor):
    Policy = apps.get_model("change", "Policy")
    Policy.objects.filter(backup_required=True).update(backup_scope="full")
    Policy.objects.exclude(environment="production").update(allow_open_drift=True)


def backward(apps, schema_editor):
    Policy = apps.get_model("change", "Policy")
    Policy.objects.exclude(backup_scope="none").update(backup_required=True)


class Migration(migrations.Migration):

    dependencies = [
        ('change', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='policy',
            name='allow_open_drift',
            field=models.BooleanField(default=False, help_text="Let upgrades and downgrades start while a target's drift is open (not accepted)."),
        ),
        migrations.AddField(
            model_name='policy',
            name='backup_scope',
            field=models.CharField(choices=[('none', 'None'), ('schema', 'Schema only'), ('touched', 'Tables the plan touches'), ('full', 'Full database')], default='none', help_text='What pg_dump takes before the first step of an upgrade or downgrade; if it fails the run fails before any step. Where it goes and how long it is kept is set per target.', max_length=10),
        ),
        migrations.AddField(
            model_name='policy',
            name='rehearsal_max_age_hours',
            field=models.PositiveIntegerField(default=24, help_text='How old a passing rehearsal may be to count.', validators=[django.core.validators.MinValueValidator(1)]),
        ),
        migrations.AlterField(
            model_name='policy',
            name='rehearsal_required',
            field=models.BooleanField(default=False, help_text='An upgrade or downgrade needs a passing rehearsal of the same plan (SQL hash and scripts) on a scratch clone before it may be scheduled or start.'),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(
            model_name='policy',
            name='backup_required',
        ),
    ]
