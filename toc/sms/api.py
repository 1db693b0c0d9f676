"""REST API of SMS (/api/sms/): the user's threads, their messages, sending (text and pictures),
read marks and pictures. A thread or picture that is not the user's is 404, as for one that
does not exist. Shapes are in docs/sms.md and the OpenAPI schema."""

from typing import Any

from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.accounts.models import User
from toc.lib.api import input_of
from toc.lib.files import user_file_response
from toc.lib.ids import as_uuid
from toc.lib.phone import format_for_display
from toc.sms import selectors, services
from toc.sms.backends import get_backend
from toc.sms.models import Thread
from toc.sms.services import SmsError

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
MAX_PAGE = 100


def _refusal(error: SmsError) -> ValidationError:
    return ValidationError({error.field: [error.message]})


def _thread(user: User, thread_id: str) -> Thread:
    thread = selectors.get_thread_for_user(user=user, thread_id=thread_id)
    if thread is None:
        raise NotFound("That conversation does not exist.")
    return thread


@extend_schema_serializer(component_name="SmsLastMessage")
class LastMessageSerializer(serializers.Serializer):
    body = serializers.CharField()
    direction = serializers.ChoiceField(choices=["outbound", "inbound"])
    has_media = serializers.BooleanField()
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="SmsThread")
class ThreadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    remote_number = serializers.CharField()
    remote_display = serializers.CharField()
    name = serializers.CharField(allow_null=True, help_text="The contact's or colleague's name for the number.")
    local_number = serializers.CharField()
    unread_count = serializers.IntegerField()
    opted_out = serializers.BooleanField()
    last_message = LastMessageSerializer(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="SmsMedia")
class MediaSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    name = serializers.CharField()
    ready = serializers.BooleanField(help_text="False while an inbound picture is being downloaded.")
    error = serializers.CharField(help_text="Why an inbound picture could not be downloaded.")


@extend_schema_serializer(component_name="SmsMessage")
class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    direction = serializers.ChoiceField(choices=["outbound", "inbound"])
    body = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    segments = serializers.IntegerField()
    encoding = serializers.ChoiceField(choices=["GSM-7", "UCS-2"])
    client_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField()
    media = MediaSerializer(many=True)


class ThreadListApi(APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema_serializer(component_name="SmsThreadList")
    class OutputSerializer(serializers.Serializer):
        local_number = serializers.CharField(help_text="The user's direct number; empty: no SMS.")
        local_number_display = serializers.CharField()
        carrier = serializers.ChoiceField(choices=["twilio", "local"])
        unread_total = serializers.IntegerField()
        threads = ThreadSerializer(many=True)

    @extend_schema_serializer(component_name="SmsThreadOpenInput")
    class InputSerializer(serializers.Serializer):
        to = serializers.CharField(max_length=40, allow_blank=True)

    @extend_schema(responses=OutputSerializer, summary="My SMS threads, newest first", operation_id="sms_threads_list")
    def get(self, request: Request) -> Response:
        user = member(request)
        threads = selectors.list_threads(user=user)
        body: dict[str, Any] = {
            "local_number": user.direct_number,
            "local_number_display": format_for_display(user.direct_number),
            "carrier": get_backend().name,
            "unread_total": selectors.unread_total(user=user),
            "threads": selectors.describe_threads(user=user, threads=threads),
        }
        return Response(body)

    @extend_schema(
        request=InputSerializer,
        responses={200: ThreadSerializer, 201: ThreadSerializer},
        summary="Open (or start) my thread with a Canadian number",
    )
    def post(self, request: Request) -> Response:
        user = member(request)
        data = input_of(self.InputSerializer, request.data)
        try:
            thread, created = services.open_thread(user=user, to=data["to"])
        except SmsError as error:
            raise _refusal(error) from error
        return Response(selectors.describe_thread(user=user, thread=thread), status=201 if created else 200)


class ThreadDetailApi(APIView):
    @extend_schema(responses=ThreadSerializer, summary="One of my SMS threads")
    def get(self, request: Request, thread_id: str) -> Response:
        user = member(request)
        return Response(selectors.describe_thread(user=user, thread=_thread(user, thread_id)))


class MessageListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="SmsMessagePage")
    class OutputSerializer(serializers.Serializer):
        messages = MessageSerializer(many=True)
        has_more = serializers.BooleanField()

    @extend_schema_serializer(component_name="SmsSendInput")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
        client_id = serializers.UUIDField(required=False, allow_null=True)
        media = serializers.ListField(child=serializers.FileField(), required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("before", str, description="A message id: the page before it"),
            OpenApiParameter("limit", int, description=f"At most {MAX_PAGE}"),
        ],
        responses=OutputSerializer,
        summary="A page of a thread's messages, oldest first",
    )
    def get(self, request: Request, thread_id: str) -> Response:
        user = member(request)
        thread = _thread(user, thread_id)
        before = None
        if request.query_params.get("before"):
            key = as_uuid(request.query_params["before"])
            before = thread.messages.filter(pk=key).first() if key else None
            if before is None:
                raise ValidationError({"before": ["No such message in this conversation."]})
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), MAX_PAGE))
        except ValueError as error:
            raise ValidationError({"limit": ["A whole number, please."]}) from error
        messages, has_more = selectors.list_messages(thread=thread, before=before, limit=limit)
        return Response({"messages": [selectors.describe_message(m) for m in messages], "has_more": has_more})

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={200: MessageSerializer, 201: MessageSerializer},
        summary="Send a text (and pictures: an MMS) in a thread",
    )
    def post(self, request: Request, thread_id: str) -> Response:
        user = member(request)
        thread = _thread(user, thread_id)
        fields = {
            "body": request.POST.get("body", ""),
            "client_id": request.POST.get("client_id") or None,
            "media": request.FILES.getlist("media"),
        }
        data = input_of(self.InputSerializer, fields)
        uploads = data.get("media", [])
        try:
            services.check_picture_sizes([upload.size or 0 for upload in uploads])
        except SmsError as error:
            raise _refusal(error) from error
        pictures = [services.Picture(name=upload.name or "", content=upload.read()) for upload in uploads]
        try:
            message, created = services.send_message(
                user=user,
                thread=thread,
                body=data.get("body", ""),
                pictures=pictures,
                client_id=data.get("client_id"),
            )
        except SmsError as error:
            raise _refusal(error) from error
        return Response(selectors.describe_message(message), status=201 if created else 200)


class ReadApi(APIView):
    @extend_schema_serializer(component_name="SmsReadOutput")
    class OutputSerializer(serializers.Serializer):
        unread_total = serializers.IntegerField()

    @extend_schema(request=None, responses=OutputSerializer, summary="Mark a thread read")
    def post(self, request: Request, thread_id: str) -> Response:
        user = member(request)
        services.mark_read(user=user, thread=_thread(user, thread_id))
        return Response({"unread_total": selectors.unread_total(user=user)})


class MediaApi(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="A picture or file of one of my messages",
    )
    def get(self, request: Request, media_id: str) -> HttpResponseBase:
        media = selectors.get_media_for_user(user=member(request), media_id=media_id)
        if media is None or not media.file:
            raise NotFound("That picture does not exist.")
        return user_file_response(
            request,
            str(media.file.name),
            content_type=media.content_type,
            filename=media.name,
            inline=media.content_type in INLINE_TYPES,
        )
