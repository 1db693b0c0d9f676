from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "toc.realtime"
    label = "realtime"
