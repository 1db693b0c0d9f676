"""Django admin for the operator: organisations, their SSO, users."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from toc.accounts.models import LoginThrottle, OidcConfiguration, Organisation, SsoDomain, User


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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
