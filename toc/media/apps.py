from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "toc.media"
    label = "media"
