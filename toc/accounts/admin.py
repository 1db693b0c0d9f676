"""Django admin for the operator: organisations, their SSO, users."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError

from toc.accounts.models import LoginThrottle, OidcConfiguration, Organisation, SsoDomain, User
from toc.accounts.services import validate_extension
from toc.lib.phone import normalise_e164


class SsoDomainInline(admin.TabularInline):
    model = SsoDomain
    extra = 0


class OidcConfigurationInline(admin.StackedInline):
    model = OidcConfiguration
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "licence_tier", "created_at")
    search_fields = ("name", "slug")
    inlines = [SsoDomainInline, OidcConfigurationInline]


class UserAdminForm(UserChangeForm):
    """The operator's user form applies the same rules as the services: extension, E.164 numbers."""

    class Meta:
        model = User
        fields = "__all__"

    def clean_extension(self) -> str:
        extension = str(self.cleaned_data.get("extension") or "")
        if not extension:
            return ""
        try:
            return validate_extension(extension)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["extension"]) from error

    def _clean_number(self, field: str) -> str:
        try:
            return normalise_e164(str(self.cleaned_data.get(field) or ""), field=field)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict[field]) from error

    def clean_mobile_number(self) -> str:
        return self._clean_number("mobile_number")

    def clean_direct_number(self) -> str:
        return self._clean_number("direct_number")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation, extension = cleaned.get("organisation"), cleaned.get("extension")
        if organisation and extension:
            taken = User.objects.filter(organisation=organisation, extension=extension).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("extension", f"Extension {extension} is already taken in {organisation}.")
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminForm
    ordering = ("organisation", "extension", "email")
    list_display = ("email", "first_name", "last_name", "organisation", "extension", "is_org_admin", "is_active")
    list_filter = ("organisation", "is_org_admin", "is_greetings_manager", "is_active")
    search_fields = ("email", "first_name", "last_name", "extension")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "organisation", "extension")}),
        ("Numbers", {"fields": ("direct_number", "mobile_number", "calling_device")}),
        ("Roles", {"fields": ("is_org_admin", "is_greetings_manager", "is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("profile_completed_at", "last_login", "created_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "organisation", "password1", "password2")}),)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    list_display = ("key", "failure_count", "next_attempt_at", "locked_until")
    search_fields = ("key",)
