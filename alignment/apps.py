from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment (roles and audit trail)"

    def ready(self) -> None:
        from alignment import preferences  # noqa: F401  (connects the login receiver that loads preferences)
