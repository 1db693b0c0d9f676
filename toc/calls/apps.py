from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "toc.calls"
    label = "calls"
