import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0008_handover_cycle_backfill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="cycle",
            name="hand_over",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="cycle", to="leads.handover"
            ),
        ),
    ]
