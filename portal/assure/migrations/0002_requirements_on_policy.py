"""The requirements move from each target to its environment's change-control policy.

How the per-target values are carried, per environment (the strictest wins,
since one policy now speaks for all of the environment's targets):

- backup scope: the widest of the environment's targets (full > touched > schema > none), and never narrower
  than the policy's own;
- rehearsal required: only production targets' values count (the gate never applied elsewhere); required if
  any production target required it, with the shortest max age among those that did;
- open drift: production allows it only if every production target with settings allowed it; other
  environments keep allowing it (``change.0002``).

Going back, every target gets its environment's values again.
"""

from django.db import migrations

WIDTH = ["none", "schema", "touched", "full"]


def forward(apps, schema_editor):
    Policy = apps.get_model("change", "Policy")
    TargetAssurance = apps.get_model("assure", "TargetAssurance")
    rows: dict[str, list] = {}
    for conf in TargetAssurance.objects.select_related("target"):
        rows.setdefault(conf.target.environment, []).append(conf)
    for env, confs in rows.items():
        policy = Policy.objects.filter(environment=env).first()
        if policy is None:
            policy = Policy(environment=env, allow_open_drift=env != "production")
        policy.backup_scope = max([policy.backup_scope] + [c.backup_scope for c in confs], key=WIDTH.index)
        if env == "production":
            requiring = [c for c in confs if c.rehearsal_required]
            if requiring:
                ages = [c.rehearsal_max_age_hours for c in requiring]
                if policy.rehearsal_required:
                    ages.append(policy.rehearsal_max_age_hours)
                policy.rehearsal_required = True
                policy.rehearsal_max_age_hours = max(1, min(ages))
            policy.allow_open_drift = all(c.allow_open_drift for c in confs)
        policy.save()


def backward(apps, schema_editor):
    Policy = apps.get_model("change", "Policy")
    TargetAssurance = apps.get_model("assure", "TargetAssurance")
    for policy in Policy.objects.all():
        TargetAssurance.objects.filter(target__environment=policy.environment).update(
            backup_scope=policy.backup_scope, allow_open_drift=policy.allow_open_drift,
            rehearsal_required=policy.rehearsal_required and policy.environment == "production",
            rehearsal_max_age_hours=policy.rehearsal_max_age_hours)


class Migration(migrations.Migration):

    dependencies = [
        ('assure', '0001_initial'),
        ('change', '0002_policy_requirements'),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RemoveField(model_name='targetassurance', name='allow_open_drift'),
        migrations.RemoveField(model_name='targetassurance', name='backup_scope'),
        migrations.RemoveField(model_name='targetassurance', name='rehearsal_max_age_hours'),
        migrations.RemoveField(model_name='targetassurance', name='rehearsal_required'),
    ]
