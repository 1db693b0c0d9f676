"""REST API for calls: live calls (the state snapshot after a reconnect), ICE servers, history.

Placing, answering and hanging up go over the event socket (toc.calls.signalling), where
the media engine's answers arrive too.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.calls import history, selectors
from toc.calls.ice import ice_servers_for


class CounterpartSerializer(serializers.Serializer):
    name = serializers.CharField()
    number = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)


class CallSerializer(serializers.Serializer):
    id = serializers.UUIDField()
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


class RecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call_id = serializers.UUIDField()
    direction = serializers.ChoiceField(choices=["outgoing", "incoming", "missed"])
    outcome = serializers.CharField()
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


class IceServerListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        ice_servers = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="ICE servers (STUN/TURN) for this user's softphone")
    def get(self, request: Request) -> Response:
        user = member(request)
        return Response({"ice_servers": ice_servers_for(user_id=user.pk, now=timezone.now())})


class HistoryListApi(APIView):
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

    @extend_schema(responses={204: None}, summary="Clear my call history")
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
