"""The token exchange both APIs serve at ``auth/token/``: POST an email and a password for a Bearer
token, DELETE to revoke the token in use.

Each API subclasses ``TokenView`` and says how to sign in and revoke (the accounts services, with
the operator API asking for staff only); the contract seen by clients is written once, here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.errors import LockedOut


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )
    code = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The current code of the user's authenticator app, or a recovery code: needed when "
        "the user has two-factor sign-in or it is required (a 400 on `code` says so).",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown once.")
    expires_at = serializers.DateTimeField()


class TokenView(APIView):
    """POST exchanges an email and password for a token; DELETE revokes the token in use."""

    def sign_in(self, http_request, email: str, password: str, code: str) -> tuple[AuthToken, str]:
        """Check the credentials (and the two-factor ``code``, "" when not sent) and issue a token,
        or raise Django's ValidationError."""
        raise NotImplementedError

    def revoke(self, token: AuthToken) -> None:
        raise NotImplementedError

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: None, 429: None},
        auth=[],
        summary="Get a token",
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        http_request = request._request  # django-axes counts attempts on Django's request
        try:
            instance, token = self.sign_in(
                http_request,
                serializer.validated_data["email"],
                serializer.validated_data["password"],
                serializer.validated_data.get("code", ""),
            )
        except DjangoValidationError:
            if getattr(http_request, "axes_locked_out", False):
                raise LockedOut() from None
            raise
        return Response(TokenSerializer({"token": token, "expires_at": instance.expiry}).data)

    @extend_schema(request=None, responses={204: None, 400: None}, summary="Revoke the token in use")
    def delete(self, request):
        if not isinstance(request.auth, AuthToken):
            raise ValidationError({"non_field_errors": ["This request is not authenticated with a token."]})
        self.revoke(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
