"""The Celery application: worker and beat processes (Procfile) use the Redis broker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")

app = Celery("toc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
