"""Events carry a provider-neutral kind (ring / answered / missed / job) that the queue and
the handling act on, instead of UIS's action names."""

from django.db import migrations, models

# Every event stored before this migration came from UIS (the only provider then) or was a job.
UIS_KINDS = {"wait": "ring", "history": "answered", "lost": "missed"}


def fill_kinds(apps, schema_editor):
    CallEvent = apps.get_model("connector", "CallEvent")
    CallEvent.objects.filter(integration__isnull=True).update(kind="job")
    for action, kind in UIS_KINDS.items():
        CallEvent.objects.filter(integration__isnull=False, action=action).update(kind=kind)


class Migration(migrations.Migration):
    dependencies = [
        ("connector", "0005_pending_claim_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="callevent", name="event_pending_kind_idx"),
        migrations.AddField(
            model_name="callevent",
            name="kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("ring", "Ringing"),
                    ("answered", "Answered"),
                    ("missed", "Missed"),
                    ("job", "Background job"),
                ],
                max_length=10,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(fill_kinds, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="callevent",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["kind", "received_at", "id"],
                name="event_pending_kind_idx",
            ),
        ),
    ]
