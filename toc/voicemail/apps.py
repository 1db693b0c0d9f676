from django.apps import AppConfig


class VoicemailConfig(AppConfig):
    name = "toc.voicemail"
    label = "voicemail"
