"""REST API of chat (/api/chat/): conversations, members, messages, reactions, read marks,
typing, files and search. Only members reach a conversation or anything in it: anyone else gets
404, as for something that does not exist. Messages' content (`envelope`) passes through
untouched; see `toc.chat.envelope`.
"""

from typing import Any

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.accounts.models import User
from toc.chat import emoji, selectors, services
from toc.chat.models import Attachment, Conversation
from toc.chat.services import ChatError
from toc.lib.api import input_of
from toc.lib.files import user_file_response

INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/webm",
        "audio/ogg",
        "audio/mp4",
        "audio/mpeg",
        "audio/wav",
        "audio/x-wav",
    }
)


def _refusal(error: ChatError) -> APIException:
    if error.code == "not_found":
        return NotFound(error.message)
    if error.code == "forbidden":
        return PermissionDenied(error.message)
    return ValidationError({error.field: [error.message]})


@extend_schema_serializer(component_name="ChatMember")
class MemberSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    extension = serializers.CharField()


@extend_schema_serializer(component_name="ChatSender")
class SenderSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


@extend_schema_serializer(component_name="ChatReaction")
class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField())
    names = serializers.ListField(child=serializers.CharField())


@extend_schema_serializer(component_name="ChatMessage")
class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    sequence = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["message", "event"])
    sender = SenderSerializer()
    envelope = serializers.JSONField(allow_null=True, help_text="Opaque: {format, payload}; null once deleted.")
    attachment_ids = serializers.ListField(child=serializers.UUIDField())
    reactions = ReactionSerializer(many=True)
    client_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="ChatConversation")
class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["direct", "group"])
    name = serializers.CharField()
    has_name = serializers.BooleanField()
    members = MemberSerializer(many=True)
    member_count = serializers.IntegerField()
    other_user_id = serializers.IntegerField(allow_null=True)
    is_muted = serializers.BooleanField()
    unread_count = serializers.IntegerField()
    last_read_sequence = serializers.IntegerField()
    last_sequence = serializers.IntegerField()
    last_message = MessageSerializer(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="ChatAttachment")
class AttachmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["file", "image", "voice"])
    duration_seconds = serializers.FloatField(allow_null=True)
    url = serializers.CharField()


def _conversation(request: Request, conversation_id: object) -> tuple[User, Conversation]:
    """The signed-in member and one of their conversations (404 for anyone else's)."""
    user = member(request)
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id)
    if conversation is None:
        raise NotFound("That conversation does not exist.")
    return user, conversation


def _described(request: Request, conversation_id: object) -> dict[str, Any]:
    user, conversation = _conversation(request, conversation_id)
    return selectors.describe_conversation(user=user, conversation=conversation)


class ConversationListApi(APIView):
    @extend_schema_serializer(component_name="ChatConversationListOutput")
    class OutputSerializer(serializers.Serializer):
        results = ConversationSerializer(many=True)
        unread_total = serializers.IntegerField()

    @extend_schema_serializer(component_name="ChatConversationCreateInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["direct", "group"])
        user_id = serializers.IntegerField(required=False, help_text="Direct chats: the other person.")
        name = serializers.CharField(required=False, allow_blank=True, help_text="Groups: optional name.")
        member_ids = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Groups.")

    @extend_schema(
        responses=OutputSerializer,
        summary="My conversations, newest activity first",
        operation_id="chat_conversations_list",
    )
    def get(self, request: Request) -> Response:
        results = selectors.list_conversations(user=member(request))
        return Response({"results": results, "unread_total": sum(item["unread_count"] for item in results)})

    @extend_schema(
        request=InputSerializer,
        responses={200: ConversationSerializer, 201: ConversationSerializer},
        summary="Open a direct chat (200 if it exists) or create a group",
    )
    def post(self, request: Request) -> Response:
        user = member(request)
        data = input_of(self.InputSerializer, request.data)
        try:
            if data["kind"] == "direct":
                if "user_id" not in data:
                    raise ChatError("invalid", "Choose who to chat with.", field="user_id")
                conversation, created = services.open_direct_chat(user=user, other_user_id=data["user_id"])
            else:
                conversation = services.create_group(
                    user=user, name=data.get("name", ""), member_ids=data.get("member_ids", [])
                )
                created = True
        except ChatError as error:
            raise _refusal(error) from error
        described = selectors.describe_conversation(user=user, conversation=conversation)
        return Response(described, status=201 if created else 200)


class ConversationDetailApi(APIView):
    @extend_schema_serializer(component_name="ChatConversationRenameInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(allow_blank=True, max_length=200)

    @extend_schema(responses=ConversationSerializer, summary="One of my conversations, with all its members")
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(_described(request, conversation_id))

    @extend_schema(request=InputSerializer, responses=ConversationSerializer, summary="Rename a group")
    def patch(self, request: Request, conversation_id: str) -> Response:
        data = input_of(self.InputSerializer, request.data)
        try:
            services.rename_group(user=member(request), conversation_id=conversation_id, name=data["name"])
        except ChatError as error:
            raise _refusal(error) from error
        return Response(_described(request, conversation_id))


class MemberListApi(APIView):
    @extend_schema_serializer(component_name="ChatMembersAddInput")
    class InputSerializer(serializers.Serializer):
        user_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1)

    @extend_schema(request=InputSerializer, responses=ConversationSerializer, summary="Add colleagues to a group")
    def post(self, request: Request, conversation_id: str) -> Response:
        data = input_of(self.InputSerializer, request.data)
        try:
            services.add_members(user=member(request), conversation_id=conversation_id, user_ids=data["user_ids"])
        except ChatError as error:
            raise _refusal(error) from error
        return Response(_described(request, conversation_id))


class MemberDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Remove a member from a group (yourself: leave it)")
    def delete(self, request: Request, conversation_id: str, user_id: int) -> Response:
        try:
            services.remove_member(user=member(request), conversation_id=conversation_id, member_id=user_id)
        except ChatError as error:
            raise _refusal(error) from error
        return Response(status=204)


class MuteApi(APIView):
    @extend_schema_serializer(component_name="ChatMuteInput")
    class InputSerializer(serializers.Serializer):
        is_muted = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=ConversationSerializer, summary="Mute or unmute a conversation")
    def put(self, request: Request, conversation_id: str) -> Response:
        data = input_of(self.InputSerializer, request.data)
        try:
            services.set_muted(user=member(request), conversation_id=conversation_id, is_muted=data["is_muted"])
        except ChatError as error:
            raise _refusal(error) from error
        return Response(_described(request, conversation_id))


class ReadApi(APIView):
    @extend_schema_serializer(component_name="ChatReadInput")
    class InputSerializer(serializers.Serializer):
        sequence = serializers.IntegerField(min_value=0)

    @extend_schema_serializer(component_name="ChatReadOutput")
    class OutputSerializer(serializers.Serializer):
        conversation_id = serializers.UUIDField()
        last_read_sequence = serializers.IntegerField()
        unread_count = serializers.IntegerField()
        unread_total = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Move my read mark forward")
    def post(self, request: Request, conversation_id: str) -> Response:
        user = member(request)
        data = input_of(self.InputSerializer, request.data)
        try:
            membership = services.mark_read(user=user, conversation_id=conversation_id, sequence=data["sequence"])
        except ChatError as error:
            raise _refusal(error) from error
        unread = selectors.unread_counts(user=user)
        return Response(
            {
                "conversation_id": str(membership.conversation_id),
                "last_read_sequence": membership.last_read_sequence,
                "unread_count": unread.get(membership.conversation_id, 0),
                "unread_total": sum(unread.values()),
            }
        )


class TypingApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Tell the others I am typing")
    def post(self, request: Request, conversation_id: str) -> Response:
        try:
            services.send_typing(user=member(request), conversation_id=conversation_id)
        except ChatError as error:
            raise _refusal(error) from error
        return Response(status=204)


class MessageListApi(APIView):
    @extend_schema_serializer(component_name="ChatMessageListOutput")
    class OutputSerializer(serializers.Serializer):
        results = MessageSerializer(many=True)
        has_more = serializers.BooleanField()

    @extend_schema_serializer(component_name="ChatMessageSendInput")
    class InputSerializer(serializers.Serializer):
        envelope = serializers.JSONField()
        attachment_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
        client_id = serializers.UUIDField(required=False, allow_null=True, default=None)

    @extend_schema_serializer(component_name="ChatMessagePageInput")
    class PageSerializer(serializers.Serializer):
        before = serializers.IntegerField(required=False, min_value=1)
        after = serializers.IntegerField(required=False, min_value=0)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)

    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Messages before this number (older page)"),
            OpenApiParameter("after", int, description="Messages after this number (newer page)"),
            OpenApiParameter("limit", int, description="1 to 100 (50)"),
        ],
        responses=OutputSerializer,
        summary="A page of a conversation's messages, ascending",
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        _, conversation = _conversation(request, conversation_id)
        page = input_of(self.PageSerializer, request.query_params)
        if "before" in page and "after" in page:
            raise ValidationError({"after": ["Give before or after, not both."]})
        messages, has_more = selectors.list_messages(
            conversation=conversation, before=page.get("before"), after=page.get("after"), limit=page["limit"]
        )
        return Response(
            {"results": [selectors.describe_message(message) for message in messages], "has_more": has_more}
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: MessageSerializer, 201: MessageSerializer},
        summary="Send a message (the same client_id again returns the first one, 200)",
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        data = input_of(self.InputSerializer, request.data)
        try:
            message, created = services.send_message(
                user=member(request),
                conversation_id=conversation_id,
                envelope=data["envelope"],
                attachment_ids=[str(item) for item in data["attachment_ids"]],
                client_id=data["client_id"],
            )
        except ChatError as error:
            raise _refusal(error) from error
        return Response(selectors.describe_message(message), status=201 if created else 200)


class MessageDetailApi(APIView):
    @extend_schema_serializer(component_name="ChatMessageEditInput")
    class InputSerializer(serializers.Serializer):
        envelope = serializers.JSONField()

    @extend_schema(request=InputSerializer, responses=MessageSerializer, summary="Edit one of my messages")
    def patch(self, request: Request, message_id: str) -> Response:
        data = input_of(self.InputSerializer, request.data)
        try:
            message = services.edit_message(user=member(request), message_id=message_id, envelope=data["envelope"])
        except ChatError as error:
            raise _refusal(error) from error
        return Response(selectors.describe_message(message))

    @extend_schema(responses={204: None}, summary="Delete one of my messages")
    def delete(self, request: Request, message_id: str) -> Response:
        try:
            services.delete_message(user=member(request), message_id=message_id)
        except ChatError as error:
            raise _refusal(error) from error
        return Response(status=204)


class ReactionApi(APIView):
    @extend_schema_serializer(component_name="ChatReactionInput")
    class InputSerializer(serializers.Serializer):
        emoji = serializers.CharField(max_length=32)
        reacted = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=MessageSerializer, summary="Put or take back my reaction")
    def put(self, request: Request, message_id: str) -> Response:
        data = input_of(self.InputSerializer, request.data)
        try:
            message = services.set_reaction(
                user=member(request), message_id=message_id, reaction=data["emoji"], reacted=data["reacted"]
            )
        except ChatError as error:
            raise _refusal(error) from error
        return Response(selectors.describe_message(message))


def describe_attachment(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": str(attachment.pk),
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "kind": attachment.kind,
        "duration_seconds": attachment.duration_seconds,
        "url": f"/api/chat/attachments/{attachment.pk}/",
    }


class AttachmentUploadApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="ChatAttachmentUploadInput")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        kind = serializers.ChoiceField(choices=["file", "image", "voice"], required=False)
        duration_seconds = serializers.FloatField(required=False)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: AttachmentSerializer},
        summary="Upload a file into a conversation (then send it in a message)",
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        user = member(request)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Choose a file to send."]})
        try:
            attachment = services.upload_attachment(
                user=user,
                conversation_id=conversation_id,
                upload=upload,
                kind=request.POST.get("kind"),
                duration_seconds=request.POST.get("duration_seconds"),
            )
        except ChatError as error:
            raise _refusal(error) from error
        return Response(describe_attachment(attachment), status=201)


class AttachmentDownloadApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("download", int, description="1: always as a download")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="A file sent in one of my conversations",
    )
    def get(self, request: Request, attachment_id: str) -> HttpResponseBase:
        attachment = selectors.get_attachment_for_user(user=member(request), attachment_id=attachment_id)
        if attachment is None or not attachment.file.name:
            raise NotFound("That file does not exist.")
        inline = attachment.content_type in INLINE_TYPES and request.query_params.get("download") != "1"
        return user_file_response(
            request, attachment.file.name, content_type=attachment.content_type, filename=attachment.name, inline=inline
        )


class SearchApi(APIView):
    @extend_schema_serializer(component_name="ChatSearchOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="ChatSearchResult")
        class ResultSerializer(serializers.Serializer):
            @extend_schema_serializer(component_name="ChatSearchConversation")
            class ConversationRefSerializer(serializers.Serializer):
                id = serializers.UUIDField()
                kind = serializers.CharField()
                name = serializers.CharField()

            conversation = ConversationRefSerializer()
            message = MessageSerializer()

        results = ResultSerializer(many=True)

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="At least 2 characters; every word must match")],
        responses=OutputSerializer,
        summary="Search the messages of my conversations",
    )
    def get(self, request: Request) -> Response:
        user = member(request)
        query = " ".join(str(request.query_params.get("q", "")).split())[:200]
        if len(query) < 2:
            raise ValidationError({"q": ["Type at least 2 characters to search."]})
        messages = selectors.search_messages(user=user, query=query)
        ids = list({message.conversation_id for message in messages})
        names = {item["id"]: item["name"] for item in selectors.list_conversations(user=user, conversation_ids=ids)}
        results = [
            selectors.describe_search_result(message=message, name=names.get(str(message.conversation_id), ""))
            for message in messages
        ]
        return Response({"results": results})


class EmojiCatalogueApi(APIView):
    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT}, summary="Every emoji, with names")
    def get(self, request: Request) -> HttpResponseBase:
        member(request)
        etag = f'"{emoji.catalogue_etag()}"'
        response = get_conditional_response(request, etag=etag) or HttpResponse(
            emoji.catalogue_json(), content_type="application/json"
        )
        response["ETag"] = etag
        patch_cache_control(response, private=True, max_age=86400)
        return response
