"""API plumbing shared by every app: errors users cause become 400s with field messages."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {field: [str(message) for message in messages] for field, messages in exc.message_dict.items()}
        else:
            errors = {"non_field_errors": [str(message) for message in exc.messages]}
        return Response({"detail": "The request was not valid.", "errors": errors}, status=400)
    response = drf_exception_handler(exc, context)
    if (
        response is not None
        and response.status_code == 400
        and isinstance(response.data, dict)
        and "detail" not in response.data
    ):
        response.data = {"detail": "The request was not valid.", "errors": response.data}
    return response


def input_of(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate request data with `serializer_class` and return the validated fields."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PresenceSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    status = serializers.CharField(help_text="What others see: a status, or `offline`.")
    chosen_status = serializers.CharField()
    status_label = serializers.CharField()
    custom_text = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    is_online = serializers.BooleanField()
