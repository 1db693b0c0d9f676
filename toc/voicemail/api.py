"""REST API for visual voicemail: the user's messages, their audio (streamed, with seeking),
save to old messages, delete. Only a mailbox's owner reaches its messages: anyone else gets
404, as for a message that does not exist.
"""

from typing import Any

from django.conf import settings
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member, organisation_id_of
from toc.accounts.models import User
from toc.lib.files import stored_file_response
from toc.voicemail import company, selectors, services
from toc.voicemail.models import CompanyGreeting, Mailbox
from toc.voicemail.services import VoicemailError


class CallerSerializer(serializers.Serializer):
    name = serializers.CharField()
    number = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    folder = serializers.ChoiceField(choices=["new", "old"])
    caller = CallerSerializer()
    created_at = serializers.DateTimeField()
    duration_seconds = serializers.FloatField()
    audio_url = serializers.CharField()


def _refusal(error: VoicemailError) -> NotFound:
    return NotFound(error.message)


class MessageListApi(APIView):
    @extend_schema_serializer(component_name="MessageListOutput")
    class OutputSerializer(serializers.Serializer):
        results = MessageSerializer(many=True)
        new_count = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer, summary="My voicemail messages, newest first")
    def get(self, request: Request) -> Response:
        user = member(request)
        messages = selectors.list_messages(user=user)
        return Response(
            {
                "results": [selectors.describe_message(message) for message in messages],
                "new_count": sum(1 for message in messages if message.folder == "new"),
            }
        )


class MessageDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Delete one of my messages")
    def delete(self, request: Request, message_id: str) -> Response:
        try:
            services.delete_message(user=member(request), message_id=message_id)
        except VoicemailError as error:
            raise _refusal(error) from error
        return Response(status=204)


class MessageSaveApi(APIView):
    @extend_schema(request=None, responses=MessageSerializer, summary="Move one of my messages to old messages")
    def post(self, request: Request, message_id: str) -> Response:
        try:
            message = services.save_message(user=member(request), message_id=message_id)
        except VoicemailError as error:
            raise _refusal(error) from error
        return Response(selectors.describe_message(message))


class MessageAudioApi(APIView):
    @extend_schema(responses={(200, "audio/wav"): OpenApiTypes.BINARY}, summary="A message's audio (Range for seeking)")
    def get(self, request: Request, message_id: str) -> HttpResponseBase:
        message = selectors.get_message_for_user(user=member(request), message_id=message_id)
        if message is None or not message.audio.name:
            raise NotFound("That message does not exist.")
        return audio_response(request, message.audio.name)


def audio_response(request: Request, name: str) -> HttpResponseBase:
    """A stored WAV, whole or the byte range asked for, so that players can seek."""
    return stored_file_response(request, name, content_type="audio/wav")


class PinInputSerializer(serializers.Serializer):
    pin = serializers.CharField(max_length=8, help_text="4 to 8 digits, not trivial, not your extension")


def _pin_refusal(error: VoicemailError) -> APIException:
    if error.code == "not_found":
        return NotFound(error.message)
    if error.code == "forbidden":
        return PermissionDenied(error.message)
    return ValidationError({"pin": [error.message]})


class MyPinApi(APIView):
    @extend_schema(request=PinInputSerializer, responses={204: None}, summary="Set my voicemail PIN")
    def put(self, request: Request) -> Response:
        user = member(request)
        try:
            services.set_pin(user=user, pin=request.data.get("pin") if isinstance(request.data, dict) else None)
        except VoicemailError as error:
            raise _pin_refusal(error) from error
        return Response(status=204)


class MailboxPinResetApi(APIView):
    @extend_schema(request=PinInputSerializer, responses={204: None}, summary="Reset a user's voicemail PIN (admins)")
    def put(self, request: Request, user_id: int) -> Response:
        admin = member(request)
        try:
            services.reset_pin(
                admin=admin, user_id=user_id, pin=request.data.get("pin") if isinstance(request.data, dict) else None
            )
        except VoicemailError as error:
            raise _pin_refusal(error) from error
        return Response(status=204)


# --- the mailbox's settings and greetings -------------------------------------------------------


def describe_mailbox(mailbox: Mailbox) -> dict[str, Any]:
    user = mailbox.user
    base = f"/api/voicemail/mailboxes/{user.pk}/greetings"
    return {
        "has_pin": bool(mailbox.pin_hash),
        "locked_until": mailbox.locked_until.isoformat() if mailbox.locked_until else None,
        "greeting_choice": mailbox.greeting_choice,
        "email_enabled": mailbox.email_enabled,
        "email": user.email,
        "greetings": {
            kind: f"{base}/{kind}/" if getattr(mailbox, field) else None
            for kind, field in services.GREETING_FIELDS.items()
        },
        "max_greeting_seconds": settings.VOICEMAIL_MAX_GREETING_SECONDS,
    }


class MailboxSerializer(serializers.Serializer):
    has_pin = serializers.BooleanField()
    locked_until = serializers.DateTimeField(allow_null=True)
    greeting_choice = serializers.ChoiceField(choices=["unavailable", "busy"])
    email_enabled = serializers.BooleanField()
    email = serializers.EmailField()
    greetings = serializers.DictField(child=serializers.CharField(allow_null=True))
    max_greeting_seconds = serializers.IntegerField()


class MailboxSettingsInputSerializer(serializers.Serializer):
    greeting_choice = serializers.ChoiceField(choices=["unavailable", "busy"], required=False)
    email_enabled = serializers.BooleanField(required=False)


class MyMailboxApi(APIView):
    @extend_schema(responses=MailboxSerializer, summary="My mailbox: PIN set, greeting in use, e-mail, greetings")
    def get(self, request: Request) -> Response:
        return Response(describe_mailbox(services.get_mailbox(user=member(request))))

    @extend_schema(request=MailboxSettingsInputSerializer, responses=MailboxSerializer, summary="Change my mailbox")
    def patch(self, request: Request) -> Response:
        user = member(request)
        data = request.data if isinstance(request.data, dict) else {}
        unknown = set(data) - {"greeting_choice", "email_enabled"}
        if unknown:
            raise ValidationError({field: ["This cannot be changed here."] for field in sorted(unknown)})
        try:
            mailbox = services.update_settings(
                user=user, greeting_choice=data.get("greeting_choice"), email_enabled=data.get("email_enabled")
            )
        except VoicemailError as error:
            raise ValidationError({field: [sentence] for field, sentence in error.errors.items()}) from error
        return Response(describe_mailbox(mailbox))


class GreetingApi(APIView):
    """A user's own greetings and recorded name: anyone else (admins too) gets 404."""

    def _mailbox(self, request: Request, user_id: int, kind: str) -> Mailbox:
        user = member(request)
        if user.pk != user_id or kind not in services.GREETING_FIELDS:
            raise NotFound("That greeting does not exist.")
        return services.get_mailbox(user=user)

    @extend_schema(responses={(200, "audio/wav"): OpenApiTypes.BINARY}, summary="Hear one of my greetings")
    def get(self, request: Request, user_id: int, kind: str) -> HttpResponseBase:
        field = getattr(self._mailbox(request, user_id, kind), services.GREETING_FIELDS[kind])
        if not field:
            raise NotFound("That greeting has not been recorded.")
        return audio_response(request, field.name)

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        responses=MailboxSerializer,
        summary="Upload one of my greetings (any audio file)",
    )
    def put(self, request: Request, user_id: int, kind: str) -> Response:
        self._mailbox(request, user_id, kind)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Choose an audio file."]})
        try:
            mailbox = services.upload_greeting(user=member(request), kind=kind, upload=upload)
        except VoicemailError as error:
            raise ValidationError({"file": [error.message]}) from error
        return Response(describe_mailbox(mailbox))

    @extend_schema(responses=MailboxSerializer, summary="Remove one of my greetings (the default is used)")
    def delete(self, request: Request, user_id: int, kind: str) -> Response:
        self._mailbox(request, user_id, kind)
        return Response(describe_mailbox(services.delete_greeting(user=member(request), kind=kind)))


# --- the company greeting (greetings managers change it) ---------------------------------------


def describe_company_greeting(greeting: CompanyGreeting, *, viewer: User) -> dict[str, Any]:
    organisation = greeting.organisation
    return {
        "main_number": organisation.main_number or None,
        "audio_url": "/api/voicemail/company-greeting/audio/" if greeting.audio else None,
        "options": dict(greeting.options),
        "can_change": viewer.is_greetings_manager,
        "updated_by": greeting.updated_by.display_name if greeting.updated_by else None,
        "updated_at": greeting.updated_at.isoformat(),
    }


class CompanyGreetingSerializer(serializers.Serializer):
    main_number = serializers.CharField(allow_null=True)
    audio_url = serializers.CharField(allow_null=True)
    options = serializers.DictField(child=serializers.CharField())
    can_change = serializers.BooleanField()
    updated_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


class CompanyOptionsInputSerializer(serializers.Serializer):
    options = serializers.DictField(child=serializers.CharField(), help_text='Digit -> extension: {"1": "101"}')


def _company_refusal(error: VoicemailError, field: str) -> APIException:
    if error.code == "forbidden":
        return PermissionDenied(error.message)
    return ValidationError({field: [error.message]})


def _greeting_for(request: Request) -> tuple[User, CompanyGreeting]:
    user = member(request)
    organisation_id = organisation_id_of(user)
    if organisation_id is None:
        raise NotFound("There is no company greeting.")
    return user, company.greeting_of(organisation_id)


class CompanyGreetingApi(APIView):
    @extend_schema(responses=CompanyGreetingSerializer, summary="The company greeting and its digit choices")
    def get(self, request: Request) -> Response:
        user, greeting = _greeting_for(request)
        return Response(describe_company_greeting(greeting, viewer=user))

    @extend_schema(
        request=CompanyOptionsInputSerializer,
        responses=CompanyGreetingSerializer,
        summary="Change the digit choices (greetings managers)",
    )
    def patch(self, request: Request) -> Response:
        user, _ = _greeting_for(request)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            greeting = company.set_options(user=user, options=data.get("options"))
        except VoicemailError as error:
            raise _company_refusal(error, "options") from error
        return Response(describe_company_greeting(greeting, viewer=user))


class CompanyGreetingAudioApi(APIView):
    @extend_schema(responses={(200, "audio/wav"): OpenApiTypes.BINARY}, summary="Hear the company greeting")
    def get(self, request: Request) -> HttpResponseBase:
        _, greeting = _greeting_for(request)
        if not greeting.audio:
            raise NotFound("No company greeting has been recorded.")
        return audio_response(request, str(greeting.audio.name))

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        responses=CompanyGreetingSerializer,
        summary="Upload the company greeting (greetings managers)",
    )
    def put(self, request: Request) -> Response:
        user, _ = _greeting_for(request)
        upload = request.FILES.get("file")
        try:
            if not user.is_greetings_manager:
                raise VoicemailError("forbidden", "Only greetings managers can change the company greeting.")
            if upload is None:
                raise VoicemailError("invalid", "Choose an audio file.")
            greeting = company.upload_audio(user=user, upload=upload)
        except VoicemailError as error:
            raise _company_refusal(error, "file") from error
        return Response(describe_company_greeting(greeting, viewer=user))

    @extend_schema(responses=CompanyGreetingSerializer, summary="Remove the recorded company greeting")
    def delete(self, request: Request) -> Response:
        user, _ = _greeting_for(request)
        try:
            greeting = company.delete_audio(user=user)
        except VoicemailError as error:
            raise _company_refusal(error, "file") from error
        return Response(describe_company_greeting(greeting, viewer=user))
