from django.db import migrations


from feedback.reasons import DEFAULT_REASONS as REASONS


def add_reasons(apps, schema_editor):
    Reason = apps.get_model("feedback", "Reason")
    for kind, reasons in REASONS.items():
        for order, (code, label, needs_comment) in enumerate(reasons):
            Reason.objects.get_or_create(
                kind=kind, code=code, defaults={"label": label, "needs_comment": needs_comment, "order": order}
            )


def remove_reasons(apps, schema_editor):
    Reason = apps.get_model("feedback", "Reason")
    for kind, reasons in REASONS.items():
        Reason.objects.filter(kind=kind, code__in=[code for code, _, _ in reasons]).delete()


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(add_reasons, remove_reasons)]
