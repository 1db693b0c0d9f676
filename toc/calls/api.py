"""REST API for calls: live calls (the state snapshot after a reconnect), ICE servers, history.

Placing, answering and hanging up go over the event socket (toc.calls.signalling), where
the media engine's answers arrive too.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.calls import history, selectors, services
from toc.calls.ice import ice_servers_for


class CounterpartSerializer(serializers.Serializer):
    name = serializers.CharField()
    number = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)


class CallSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=["outgoing", "incoming"])
    state = serializers.CharField()
    end_reason = serializers.CharField(allow_null=True)
    end_message = serializers.CharField()
    counterpart = CounterpartSerializer()
    dialled = serializers.CharField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    leg_id = serializers.UUIDField(allow_null=True)
    held_by_me = serializers.BooleanField()
    on_hold = serializers.BooleanField()
    transferred_by = serializers.CharField(allow_null=True)
    consult_for = serializers.UUIDField(allow_null=True)
    park_slot = serializers.CharField(allow_null=True)
    awaiting_pin = serializers.BooleanField()
    voicemail = serializers.ChoiceField(choices=["deposit", "menu", "greeting", "attendant"], allow_null=True)
    conference = serializers.DictField(allow_null=True)


class RecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call_id = serializers.UUIDField()
    direction = serializers.ChoiceField(choices=["outgoing", "incoming", "missed"])
    outcome = serializers.CharField()
    note = serializers.CharField()
    counterpart = CounterpartSerializer()
    started_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField()
    is_seen = serializers.BooleanField()


class ActiveCallListApi(APIView):
    @extend_schema(responses=CallSerializer(many=True), summary="My calls that have not ended")
    def get(self, request: Request) -> Response:
        user = member(request)
        return Response([selectors.describe_call(call, viewer=user) for call in selectors.list_active_calls(user=user)])


class PhoneDndApi(APIView):
    class PhoneDndSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()

    @extend_schema(responses=PhoneDndSerializer, summary="Whether Phone DND is on")
    def get(self, request: Request) -> Response:
        return Response({"enabled": member(request).phone_dnd})

    @extend_schema(
        request=PhoneDndSerializer,
        responses=PhoneDndSerializer,
        summary="Turn Phone DND on or off (on: every call goes straight to voicemail)",
    )
    def put(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        try:
            enabled = services.set_phone_dnd(user=member(request), enabled=data.get("enabled"))
        except services.CallError as error:
            raise ValidationError({"enabled": [error.message]}) from error
        return Response({"enabled": enabled})


class IceServerListApi(APIView):
    @extend_schema_serializer(component_name="IceServerListOutput")
    class OutputSerializer(serializers.Serializer):
        ice_servers = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="ICE servers (STUN/TURN) for this user's softphone")
    def get(self, request: Request) -> Response:
        user = member(request)
        return Response({"ice_servers": ice_servers_for(user_id=user.pk, now=timezone.now())})


class HistoryListApi(APIView):
    @extend_schema_serializer(component_name="HistoryListOutput")
    class OutputSerializer(serializers.Serializer):
        results = RecordSerializer(many=True)
        missed_unseen = serializers.IntegerField()

    @extend_schema(
        parameters=[OpenApiParameter("missed", bool, description="Only missed calls")],
        responses=OutputSerializer,
        summary="My call history, newest first",
    )
    def get(self, request: Request) -> Response:
        user = member(request)
        missed_only = request.query_params.get("missed", "").lower() in {"1", "true", "yes"}
        records = selectors.list_history(user=user, missed_only=missed_only)
        return Response(
            {
                "results": [selectors.describe_record(record) for record in records],
                "missed_unseen": selectors.count_missed_unseen(user=user),
            }
        )

    @extend_schema(responses={204: None}, summary="Clear my call history", operation_id="calls_history_clear")
    def delete(self, request: Request) -> Response:
        history.clear_history(user=member(request))
        return Response(status=204)


class HistoryDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Delete one line of my call history")
    def delete(self, request: Request, record_id: int) -> Response:
        if not history.delete_history_record(user=member(request), record_id=record_id):
            raise NotFound("That call is not in your history.")
        return Response(status=204)


class HistorySeenApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="I have seen my missed calls")
    def post(self, request: Request) -> Response:
        history.mark_missed_seen(user=member(request))
        return Response(status=204)


class ParkedCallListApi(APIView):
    @extend_schema_serializer(component_name="ParkedCallListOutput")
    class OutputSerializer(serializers.Serializer):
        slot = serializers.CharField()
        caller = CounterpartSerializer()
        parked_by = serializers.CharField()
        ring_back_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True), summary="Calls parked in my organisation (dial a slot)")
    def get(self, request: Request) -> Response:
        return Response(selectors.list_parked_calls(user=member(request)))


class RoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    extension = serializers.CharField()
    has_pin = serializers.BooleanField()
    owner = serializers.CharField(allow_null=True)
    can_change_pin = serializers.BooleanField()


class ConferenceRoomListApi(APIView):
    @extend_schema(responses=RoomSerializer(many=True), summary="My organisation's conference rooms")
    def get(self, request: Request) -> Response:
        user = member(request)
        return Response(
            [selectors.describe_room(room, viewer=user) for room in selectors.list_conference_rooms(user=user)]
        )


class ConferenceRoomPinApi(APIView):
    @extend_schema_serializer(component_name="ConferenceRoomPinInput")
    class InputSerializer(serializers.Serializer):
        pin = serializers.CharField(allow_blank=True, max_length=8, help_text="4 to 8 digits; empty: no PIN")

    @extend_schema(request=InputSerializer, responses=RoomSerializer, summary="Set or clear a room's PIN (admins)")
    def put(self, request: Request, room_id: int) -> Response:
        user = member(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            room = services.set_room_pin(user=user, room_id=room_id, pin=serializer.validated_data["pin"])
        except services.CallError as error:
            raise _api_error(error) from error
        return Response(selectors.describe_room(room, viewer=user))


def _api_error(error: "services.CallError") -> APIException:
    if error.code == "not_found":
        return NotFound(error.message)
    if error.code == "forbidden":
        return PermissionDenied(error.message)
    return ValidationError({"pin": [error.message]})
