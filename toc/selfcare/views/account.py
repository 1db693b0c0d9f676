"""Self Care pages of a user's own account: Voicemail and Devices."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
