from django.apps import AppConfig


class SelfcareConfig(AppConfig):
    name = "toc.selfcare"
    label = "selfcare"
