"""Personal contacts and favourites. The Directory itself is the organisation's users."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Contact(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    work_number = models.CharField(max_length=16, blank=True)
    mobile_number = models.CharField(max_length=16, blank=True)
    home_number = models.CharField(max_length=16, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Favourite(models.Model):
    """A starred Directory entry (a colleague) or personal contact."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    colleague = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(colleague__isnull=False, contact__isnull=True)
                    | models.Q(colleague__isnull=True, contact__isnull=False)
                ),
                name="favourite_has_one_target",
            ),
            models.UniqueConstraint(fields=["owner", "colleague"], name="unique_favourite_colleague"),
            models.UniqueConstraint(fields=["owner", "contact"], name="unique_favourite_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} ★ {self.colleague_id or self.contact_id}"
