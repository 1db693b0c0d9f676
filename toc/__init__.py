"""TOC: a unified-communications server (calls, chat, SMS, presence, meetings)."""

from toc.celery import app as celery_app

__all__ = ["celery_app"]
