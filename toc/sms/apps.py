from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "toc.sms"
    label = "sms"
