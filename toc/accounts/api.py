"""REST API for the signed-in user (who am I, preferences, API tokens), and the public discovery
document the desktop app reads to check a company address or find it from an SSO domain."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from toc.accounts import selectors, services
from toc.accounts.access import member
from toc.accounts.models import CallingDevice, User
from toc.lib.api import input_of
from toc.lib.phone import format_for_display


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    extension = serializers.CharField()
    direct_number = serializers.CharField()
    direct_number_display = serializers.CharField()
    mobile_number = serializers.CharField()
    calling_device = serializers.ChoiceField(choices=CallingDevice.choices)
    phone_dnd = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    organisation = serializers.DictField()
    profile_completed = serializers.BooleanField()


def describe_me(user: User) -> dict[str, Any]:
    organisation = user.organisation
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.display_name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "extension": user.extension,
        "direct_number": user.direct_number,
        "direct_number_display": format_for_display(user.direct_number),
        "mobile_number": user.mobile_number,
        "calling_device": user.calling_device,
        "phone_dnd": user.phone_dnd,
        "roles": user.roles,
        "organisation": (
            {"id": organisation.pk, "name": organisation.name, "licence_tier": organisation.licence_tier}
            if organisation
            else None
        ),
        "profile_completed": user.profile_completed_at is not None,
    }


class MeApi(APIView):
    @extend_schema(responses=MeOutputSerializer, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        return Response(describe_me(member(request)))


class PreferencesUpdateApi(APIView):
    @extend_schema_serializer(component_name="PreferencesUpdateInput")
    class InputSerializer(serializers.Serializer):
        calling_device = serializers.ChoiceField(choices=CallingDevice.choices, required=False)
        mobile_number = serializers.CharField(required=False, allow_blank=True, max_length=40)

    @extend_schema(request=InputSerializer, responses=MeOutputSerializer, summary="Change calling device / mobile")
    def patch(self, request: Request) -> Response:
        data = input_of(self.InputSerializer, request.data)
        user = services.update_preferences(user=member(request), **data)
        return Response(describe_me(user))


class TokenCreateApi(APIView):
    """Exchange an e-mail address and password for an API token (the desktop app's sign-in).

    The same throttle as the sign-in page applies."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema_serializer(component_name="TokenCreateInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema_serializer(component_name="TokenCreateOutput")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Get an API token")
    def post(self, request: Request) -> Response:
        data = input_of(self.InputSerializer, request.data)
        result = services.login_with_password(
            request=request._request,
            email=data["email"],
            password=data["password"],
            client_address=request.META.get("REMOTE_ADDR", ""),
        )
        if result.user is None:
            headers = {"Retry-After": str(result.retry_after_seconds)} if result.retry_after_seconds else {}
            status = 429 if result.retry_after_seconds else 400
            return Response({"detail": result.error}, status=status, headers=headers)
        token, _ = Token.objects.get_or_create(user=result.user)
        return Response({"token": token.key}, status=201)


class DiscoveryApi(APIView):
    """What the desktop app asks before it opens a company address: is this TOC, what is its
    canonical address, and (with `sso_domain`) which organisation signs in with that domain.

    Public and read-only; a domain nobody uses gets 404 with the wizard's own message. It tells
    anyone which organisation uses a domain, so each client address may ask only so often
    (REST_FRAMEWORK's `discovery` rate, DISCOVERY_THROTTLE_RATE; beyond it 429 and Retry-After)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "discovery"

    @extend_schema_serializer(component_name="DiscoveryOutput")
    class OutputSerializer(serializers.Serializer):
        service = serializers.CharField(help_text="Always `toc`.")
        company_url = serializers.URLField(help_text="The address the app opens (the server's PUBLIC_URL).")
        sso_domain = serializers.CharField(allow_null=True)
        organisation = serializers.CharField(allow_null=True, help_text="Who signs in with `sso_domain`.")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "sso_domain", str, required=False, description="An SSO (or e-mail) domain to find the company of."
            )
        ],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="`sso_domain` is not a domain name."),
            404: OpenApiResponse(description="No organisation uses `sso_domain`."),
            429: OpenApiResponse(description="Too many lookups from this address; try again after `Retry-After`."),
        },
        summary="Discovery for the desktop app",
    )
    def get(self, request: Request) -> Response:
        domain = request.query_params.get("sso_domain", "")[:253].strip()
        document: dict[str, Any] = {
            "service": "toc",
            "company_url": settings.PUBLIC_URL,
            "sso_domain": None,
            "organisation": None,
        }
        if domain:
            try:
                clean = services.normalise_domain(domain)
            except ValidationError as error:
                return Response(_sso_domain_errors(error, "The request was not valid."), status=400)
            try:
                organisation = selectors.get_organisation_for_sso_domain(domain=clean)
            except ValidationError as error:
                return Response(_sso_domain_errors(error, "No organisation uses this SSO domain."), status=404)
            document.update(sso_domain=clean, organisation=organisation.name)
        return Response(document)


def _sso_domain_errors(error: ValidationError, detail: str) -> dict[str, Any]:
    return {"detail": detail, "errors": {"sso_domain": error.message_dict["domain"]}}
