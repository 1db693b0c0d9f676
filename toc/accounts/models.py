"""Organisations (tenants), their users, SSO settings, login throttling state and the audit log.

Every tenant-owned row in TOC points at an Organisation; users belong to exactly one.
Writes go through `services`, reads through `selectors`.
"""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone


class LicenceTier(models.TextChoices):
    STARTER = "starter", "Starter"
    PLATINUM = "platinum", "Platinum"


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    licence_tier = models.CharField(max_length=20, choices=LicenceTier.choices, default=LicenceTier.STARTER)
    timezone = models.CharField(max_length=64, default="America/Toronto")
    ring_timeout_seconds = models.PositiveSmallIntegerField(default=20)
    park_first_slot = models.PositiveSmallIntegerField(
        default=601, help_text="The lowest park slot; Park takes the lowest free one from here."
    )
    park_slot_count = models.PositiveSmallIntegerField(default=20)
    park_timeout_seconds = models.PositiveSmallIntegerField(
        default=60, help_text="How long a parked call waits before it rings back the parker."
    )
    main_number = models.CharField(
        max_length=16, blank=True, help_text="The company's main number (E.164): callers hear the company greeting."
    )
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        constraints = [
            # A number rings in one place: two organisations never share a main number.
            models.UniqueConstraint(
                fields=["main_number"], condition=~models.Q(main_number=""), name="unique_main_number"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SsoDomain(models.Model):
    """A domain users type in the Profile Wizard to find their organisation's SSO."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sso_domains")
    domain = models.CharField(max_length=253, unique=True)

    def __str__(self) -> str:
        return self.domain


class OidcConfiguration(models.Model):
    """An organisation's OpenID Connect identity provider ("Sign in with Microsoft").

    `issuer` is the provider's issuer URL, for Microsoft Entra
    https://login.microsoftonline.com/<tenant id>/v2.0; its discovery document is read from
    `<issuer>/.well-known/openid-configuration`. `tenant_id`, when set, must equal the
    token's `tid` claim.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="oidc_configuration")
    issuer = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    client_secret = models.CharField(max_length=500, blank=True)
    tenant_id = models.CharField(max_length=100, blank=True)
    is_enabled = models.BooleanField(default=True)
    allows_auto_provisioning = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"OIDC for {self.organisation}"


class CallingDevice(models.TextChoices):
    SOFTPHONE = "softphone", "Softphone"
    DESKPHONE = "deskphone", "Desk phone"
    MOBILE = "mobile", "Mobile"


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person in an organisation. Operators (Django admin) may have no organisation."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    extension = models.CharField(max_length=4, blank=True)
    mobile_number = models.CharField(max_length=16, blank=True)
    direct_number = models.CharField(max_length=16, blank=True)
    calling_device = models.CharField(max_length=20, choices=CallingDevice.choices, default=CallingDevice.SOFTPHONE)
    phone_dnd = models.BooleanField(default=False, help_text="Phone DND: every call goes straight to voicemail.")
    is_org_admin = models.BooleanField(default=False)
    is_greetings_manager = models.BooleanField(default=False)
    licence_tier = models.CharField(max_length=20, choices=LicenceTier.choices, default=LicenceTier.STARTER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    profile_completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "extension"],
                condition=~models.Q(extension=""),
                name="unique_extension_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["direct_number"],
                condition=~models.Q(direct_number=""),
                name="unique_direct_number",
            ),
            models.UniqueConstraint(Lower("email"), name="unique_email_case_insensitive"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email

    @property
    def roles(self) -> list[str]:
        roles = ["user"]
        if self.is_org_admin:
            roles.append("admin")
        if self.is_greetings_manager:
            roles.append("greetings_manager")
        return roles

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.first_name or self.email


class LoginThrottle(models.Model):
    """Password-login failures for one key (an e-mail address or a client address)."""

    key = models.CharField(max_length=300, unique=True)
    failure_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=django_timezone.now)

    def __str__(self) -> str:
        return self.key


class AuditEntry(models.Model):
    """One change an admin (or greetings manager) made to their organisation: who, what, when,
    and the changed fields before and after. Written by `toc.accounts.audit.record` inside the
    change's own transaction; never holds secrets (a PIN change is stored as a marker)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey("User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=255)
    action = models.CharField(max_length=64, help_text='What happened, e.g. "user.created".')
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organisation", "-created_at"], name="audit_org_newest_first")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_label} by {self.actor_name}"
