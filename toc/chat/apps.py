from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "toc.chat"
    label = "chat"
