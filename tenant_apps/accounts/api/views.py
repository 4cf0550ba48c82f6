"""The tenant API (/api/v1/ on a tenant's subdomain): tokens, the signed-in user, users, invitations.

Views parse input and call one service; services raise ValidationError / PermissionDenied, which
the API's exception handler turns into 400 / 403 (config/api/errors.py: the error format).
Lookups go through the actor-aware getters, so ids of another tenant or not visible answer 404.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import tokens
from tenant_apps.accounts import invitations, services
from tenant_apps.accounts.api.permissions import (
    CanChangeInvitation,
    CanChangeUser,
    CanManageUsers,
    CanViewUsers,
)
from tenant_apps.accounts.api.serializers import (
    InvitationSerializer,
    InviteSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from tenant_apps.accounts.models import Invitation


class TokenView(tokens.TokenView):
    """A workspace user's token, on the workspace's host."""

    def sign_in(self, http_request, email, password, code):
        return services.sign_in_for_token(http_request, email, password, code)

    def revoke(self, token):
        services.revoke_token(token)


class RevokeAllTokensView(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke every token of the signed-in user")
    def post(self, request):
        services.revoke_all_tokens(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=UserSerializer, summary="The signed-in user")
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class UserListView(generics.GenericAPIView):
    serializer_class = UserSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), CanManageUsers()]
        return [IsAuthenticated(), CanViewUsers()]

    def get_queryset(self):
        return services.users_for(self.request.user)

    @extend_schema(responses=UserSerializer(many=True), summary="List the workspace's users")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(
        request=InviteSerializer,
        responses={201: InvitationSerializer},
        summary="Invite a user (same as POST /invitations/)",
    )
    def post(self, request):
        return _invite(request)


class _UserView(APIView):
    def _user(self, request, public_id):
        try:
            user = services.get_user_for(request.user, public_id)
        except get_user_model().DoesNotExist:
            raise NotFound() from None
        self.check_object_permissions(request, user)
        return user


class UserDetailView(_UserView):
    def get_permissions(self):
        if self.request.method in ("PATCH", "DELETE"):
            return [IsAuthenticated(), CanManageUsers(), CanChangeUser()]
        return [IsAuthenticated(), CanViewUsers()]

    @extend_schema(responses=UserSerializer, summary="One user")
    def get(self, request, public_id):
        return Response(UserSerializer(self._user(request, public_id)).data)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer, summary="Change a user's role")
    def patch(self, request, public_id):
        user = self._user(request, public_id)
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.set_role(request.user, user, serializer.validated_data["role"])
        return Response(UserSerializer(services.get_user_for(request.user, public_id)).data)

    @extend_schema(request=None, responses={204: None}, summary="Deactivate a user")
    def delete(self, request, public_id):
        services.deactivate_user(request.user, self._user(request, public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserReactivateView(_UserView):
    """POST: let a deactivated user sign in again (DELETE on the user deactivates)."""

    permission_classes = [IsAuthenticated, CanManageUsers, CanChangeUser]

    @extend_schema(request=None, responses=UserSerializer, summary="Reactivate a deactivated user")
    def post(self, request, public_id):
        services.reactivate_user(request.user, self._user(request, public_id))
        return Response(UserSerializer(services.get_user_for(request.user, public_id)).data)


def _invite(request):
    serializer = InviteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    invitation = invitations.invite(
        request.user, serializer.validated_data["email"], serializer.validated_data["role"]
    )
    return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationListView(generics.GenericAPIView):
    serializer_class = InvitationSerializer
    permission_classes = [IsAuthenticated, CanManageUsers]

    def get_queryset(self):
        return invitations.invitations_for(self.request.user)

    @extend_schema(responses=InvitationSerializer(many=True), summary="List invitations")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        request=InviteSerializer,
        responses={201: InvitationSerializer},
        summary="Invite an email address (re-inviting resends)",
    )
    def post(self, request):
        return _invite(request)


class _InvitationView(APIView):
    # Reading needs CanManageUsers; every write also CanChangeInvitation (object level).
    permission_classes = [IsAuthenticated, CanManageUsers, CanChangeInvitation]

    def _invitation(self, request, public_id) -> Invitation:
        try:
            invitation = invitations.get_invitation_for(request.user, public_id)
        except Invitation.DoesNotExist:
            raise NotFound() from None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            self.check_object_permissions(request, invitation)
        return invitation


class InvitationDetailView(_InvitationView):
    @extend_schema(responses=InvitationSerializer, summary="One invitation")
    def get(self, request, public_id):
        return Response(InvitationSerializer(self._invitation(request, public_id)).data)

    @extend_schema(request=None, responses=InvitationSerializer, summary="Revoke an invitation")
    def delete(self, request, public_id):
        invitation = invitations.revoke_invitation(request.user, self._invitation(request, public_id))
        return Response(InvitationSerializer(invitation).data)


class InvitationResendView(_InvitationView):
    @extend_schema(request=None, responses=InvitationSerializer, summary="Send an invitation again")
    def post(self, request, public_id):
        invitation = invitations.resend_invitation(request.user, self._invitation(request, public_id))
        return Response(InvitationSerializer(invitation).data)
