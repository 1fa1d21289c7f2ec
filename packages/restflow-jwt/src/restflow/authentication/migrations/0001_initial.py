from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="BlacklistedToken",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("jti", models.CharField(max_length=128, unique=True)),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "blacklisted token",
                "verbose_name_plural": "blacklisted tokens",
                "indexes": [
                    models.Index(fields=["expires_at"], name="restflow_au_expires_idx")
                ],
            },
        ),
    ]
