"""REST API for the Directory, personal Contacts, Favourites and search."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import member
from toc.directory import selectors, services
from toc.lib.api import PresenceSerializer, input_of


class ColleagueSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    extension = serializers.CharField()
    direct_number = serializers.CharField()
    direct_number_display = serializers.CharField()
    presence = PresenceSerializer(allow_null=True)
    is_favourite = serializers.BooleanField()


class ContactOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    name = serializers.CharField()
    company = serializers.CharField()
    email = serializers.CharField()
    work_number = serializers.CharField()
    mobile_number = serializers.CharField()
    home_number = serializers.CharField()
    numbers_display = serializers.DictField(child=serializers.CharField())
    is_favourite = serializers.BooleanField()


class ContactInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    work_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    mobile_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    home_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")


class DirectoryListApi(APIView):
    @extend_schema(responses=ColleagueSerializer(many=True), summary="Everyone in my organisation")
    def get(self, request: Request) -> Response:
        return Response(selectors.list_directory(user=member(request)))


class ContactListCreateApi(APIView):
    @extend_schema(responses=ContactOutputSerializer(many=True), summary="My contacts")
    def get(self, request: Request) -> Response:
        return Response(selectors.list_contacts(user=member(request)))

    @extend_schema(request=ContactInputSerializer, responses=ContactOutputSerializer, summary="Add a contact")
    def post(self, request: Request) -> Response:
        data = input_of(ContactInputSerializer, request.data)
        contact = services.create_contact(owner=member(request), data=services.ContactInput(**data))
        return Response(selectors.describe_contact(contact=contact), status=201)


class ContactDetailApi(APIView):
    @extend_schema(responses=ContactOutputSerializer, summary="One of my contacts")
    def get(self, request: Request, contact_id: int) -> Response:
        contact = selectors.get_contact_for_user(user=member(request), contact_id=contact_id)
        return Response(selectors.describe_contact(contact=contact))

    @extend_schema(request=ContactInputSerializer, responses=ContactOutputSerializer, summary="Change a contact")
    def put(self, request: Request, contact_id: int) -> Response:
        contact = selectors.get_contact_for_user(user=member(request), contact_id=contact_id)
        data = input_of(ContactInputSerializer, request.data)
        contact = services.update_contact(contact=contact, data=services.ContactInput(**data))
        return Response(selectors.describe_contact(contact=contact))

    @extend_schema(responses={204: None}, summary="Delete a contact")
    def delete(self, request: Request, contact_id: int) -> Response:
        contact = selectors.get_contact_for_user(user=member(request), contact_id=contact_id)
        services.delete_contact(contact=contact)
        return Response(status=204)


class FavouriteApi(APIView):
    """Star (PUT) or unstar (DELETE) a colleague (`kind=colleague`) or contact (`kind=contact`)."""

    def _target(self, request: Request, kind: str, target_id: str) -> dict[str, Any]:
        user = member(request)
        if kind == "colleague":
            return {"colleague": selectors.get_colleague_for_user(user=user, colleague_id=int(target_id))}
        return {"contact": selectors.get_contact_for_user(user=user, contact_id=int(target_id))}

    @extend_schema(request=None, responses={204: None}, summary="Star an entry")
    def put(self, request: Request, kind: str, target_id: str) -> Response:
        services.add_favourite(owner=member(request), **self._target(request, kind, target_id))
        return Response(status=204)

    @extend_schema(responses={204: None}, summary="Unstar an entry")
    def delete(self, request: Request, kind: str, target_id: str) -> Response:
        services.remove_favourite(owner=member(request), **self._target(request, kind, target_id))
        return Response(status=204)


class SearchApi(APIView):
    @extend_schema_serializer(component_name="SearchOutput")
    class OutputSerializer(serializers.Serializer):
        directory = ColleagueSerializer(many=True)
        contacts = ContactOutputSerializer(many=True)
        favourites = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Words of a name, company, e-mail, extension or number")],
        responses=OutputSerializer,
        summary="Search Directory, Contacts and Favourites",
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "")[:200]
        return Response(selectors.search_directory(user=member(request), query=query))
