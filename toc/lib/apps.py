from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "toc.lib"
    label = "toc_lib"
