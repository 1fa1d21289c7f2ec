import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("restflow_authentication", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TokenSession",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("sid", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField()),
                ("last_used_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("user_agent", models.CharField(blank=True, max_length=256)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("revoke_reason", models.CharField(blank=True, max_length=16)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "token session",
                "verbose_name_plural": "token sessions",
                "indexes": [
                    models.Index(
                        fields=["user", "revoked_at", "expires_at"], name="restflow_au_sess_user_idx"
                    ),
                    models.Index(fields=["expires_at"], name="restflow_au_sess_exp_idx"),
                ],
            },
        ),
    ]
