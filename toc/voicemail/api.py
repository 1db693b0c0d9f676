"""REST API for visual voicemail: the user's messages, their audio (streamed, with seeking),
save to old messages, delete. Only a mailbox's owner reaches its messages: anyone else gets
404, as for a message that does not exist.
"""

import re
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.voicemail import selectors, services
from toc.voicemail.services import VoicemailError

CHUNK_BYTES = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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
        name = message.audio.name
        size = default_storage.size(name)
        wanted = RANGE.match(request.headers.get("Range", ""))
        if wanted is None or size == 0:
            response: HttpResponseBase = FileResponse(default_storage.open(name, "rb"), content_type="audio/wav")
            response["Accept-Ranges"] = "bytes"
            response["Cache-Control"] = "private, no-store"
            return response
        first, last = _byte_range(wanted.group(1), wanted.group(2), size)
        if first is None or last is None:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        response = StreamingHttpResponse(_read(name, first, last), status=206, content_type="audio/wav")
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, no-store"
        return response


def _byte_range(start: str, end: str, size: int) -> tuple[int | None, int | None]:
    """The first and last byte of a `bytes=start-end` range, or (None, None) if it is unsatisfiable."""
    if not start and not end:
        return None, None
    if not start:  # the last `end` bytes
        length = int(end)
        return (max(0, size - length), size - 1) if length > 0 else (None, None)
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or last < first:
        return None, None
    return first, last


def _read(name: str, first: int, last: int) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as audio:
        audio.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = audio.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


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
