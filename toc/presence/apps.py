from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = "toc.presence"
    label = "presence"
