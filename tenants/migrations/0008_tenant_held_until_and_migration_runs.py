import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0007_tenant_two_factor_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="held_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name="MigrationRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "migration_state",
                    models.CharField(help_text="What the run migrates every schema to.", max_length=64),
                ),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-started_at"],
            },
        ),
        migrations.CreateModel(
            name="MigrationRunSchema",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("schema_name", models.CharField(max_length=63)),
                (
                    "outcome",
                    models.CharField(
                        choices=[("ok", "Migrated"), ("failed", "Failed (rolled back)")], max_length=8
                    ),
                ),
                ("applied", models.PositiveIntegerField(default=0)),
                ("seconds", models.FloatField(default=0)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="schemas",
                        to="tenants.migrationrun",
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
    ]
