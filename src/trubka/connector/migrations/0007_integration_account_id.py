"""A connected account is named by its provider and its id there, as text: UIS's numeric
``app_id`` becomes ``account_id`` (the same digits), unique per provider."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("connector", "0006_event_kind"),
    ]

    operations = [
        migrations.RenameField(model_name="integration", old_name="app_id", new_name="account_id"),
        migrations.AlterField(
            model_name="integration",
            name="account_id",
            field=models.CharField(max_length=64, verbose_name="account id"),
        ),
        migrations.AlterField(
            model_name="integration",
            name="provider",
            field=models.CharField(default="uis", max_length=20, verbose_name="provider"),
        ),
        migrations.AlterModelOptions(
            name="integration",
            options={
                "ordering": ["provider", "id"],
                "verbose_name": "connected UIS account",
                "verbose_name_plural": "connected UIS accounts",
            },
        ),
        migrations.AddConstraint(
            model_name="integration",
            constraint=models.UniqueConstraint(
                fields=("provider", "account_id"), name="integration_provider_account_unique"
            ),
        ),
    ]
