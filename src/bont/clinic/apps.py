from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "bont.clinic"
    label = "clinic"
    verbose_name = "bont clinical records"
    default_auto_field = "django.db.models.BigAutoField"
