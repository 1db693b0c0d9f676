"""REST API for the signed-in user's presence."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.lib.api import PresenceSerializer, input_of
from toc.presence import selectors, services, state


class PresenceApi(APIView):
    @extend_schema_serializer(component_name="PresenceInput")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[status.value for status in state.Status])
        duration = serializers.ChoiceField(choices=[duration.value for duration in state.Duration])
        custom_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    @extend_schema(responses=PresenceSerializer, summary="My presence")
    def get(self, request: Request) -> Response:
        return Response(selectors.get_presence_for_user(user=member(request)))

    @extend_schema(request=InputSerializer, responses=PresenceSerializer, summary="Set my presence")
    def put(self, request: Request) -> Response:
        data = input_of(self.InputSerializer, request.data)
        services.set_presence(user=member(request), **data)
        return Response(selectors.get_presence_for_user(user=member(request)))
