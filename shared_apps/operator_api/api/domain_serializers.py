from rest_framework import serializers

from tenants import domains
from tenants.models import Domain


class DomainSerializer(serializers.ModelSerializer):
    """A domain as the operator sees it. The token is not a secret: the platform publishes it on
    the domain itself, or the domain's owner in a TXT record, which is how verification works;
    ``instructions`` describes both ways."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    verified = serializers.SerializerMethodField()
    custom = serializers.SerializerMethodField()
    verification_url = serializers.SerializerMethodField()
    instructions = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = [
            "id",
            "domain",
            "is_primary",
            "custom",
            "verified",
            "verified_at",
            "verification_token",
            "verification_url",
            "verification_checked_at",
            "verification_error",
            "instructions",
            "created_at",
        ]
        read_only_fields = fields

    def get_verified(self, domain) -> bool:
        return domain.verified_at is not None

    def get_custom(self, domain) -> bool:
        return domains.is_custom(domain)

    def get_verification_url(self, domain) -> str | None:
        return domains.verification_url(domain) if domain.verification_token else None

    def get_instructions(self, domain) -> str:
        return domains.instructions(domain)


class NewDomainSerializer(serializers.Serializer):
    # The length is checked here so that a too-long value is a 400, never a database error; the
    # rules (a valid name, not the platform's, not taken, the tenant's maximum) are the service's.
    domain = serializers.CharField(max_length=253)
