"""Media worker processes as the control plane sees them: who is alive, and how to reach them."""

from django.db import models
from django.utils import timezone


class MediaWorker(models.Model):
    """One running `media_worker` process; its calls live there and nowhere else."""

    name = models.CharField(max_length=100, unique=True)
    channel_name = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    capacity = models.PositiveIntegerField(help_text="Most live calls this worker takes.")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.name
