from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bont.web"
    label = "web"
    verbose_name = "bont web app"
