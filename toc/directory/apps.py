from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "toc.directory"
    label = "directory"
