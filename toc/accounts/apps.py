from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "toc.accounts"
    label = "accounts"
