"""Access helpers: who is asking, and may they use the communicator at all.

Operators (Django admin accounts without an organisation) cannot use the communicator API:
every tenant-scoped read and write needs a member of an organisation.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from toc.accounts.models import User


def member(request: Request | HttpRequest) -> User:
    """The signed-in member of an organisation making `request`."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotAuthenticated()
    if user.organisation_id is None or not user.is_active:
        raise PermissionDenied("Only members of an organisation can use TOC.")
    return user


class IsOrganisationMember(BasePermission):
    message = "Only members of an organisation can use TOC."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, User) and user.is_active and user.organisation_id is not None


def organisation_id_of(user: User) -> int:
    """The user's organisation id; operators without one are refused."""
    if user.organisation_id is None:
        raise DjangoPermissionDenied("Only members of an organisation can use TOC.")
    return user.organisation_id
