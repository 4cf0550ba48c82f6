from rest_framework import serializers

from tenants.models import Tenant


class TenantSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    user_count = serializers.IntegerField(read_only=True, default=None, help_text="Only in lists.")

    class Meta:
        model = Tenant
        fields = [
            "id",
            "slug",
            "name",
            "status",
            "suspended_reason",
            "plan",
            "url",
            "user_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, tenant) -> str:
        return tenant.url()


class NewTenantSerializer(serializers.Serializer):
    # Lengths are checked here so that a too-long value is a 400, never a database error;
    # everything else (slug rules, taken slugs) is the provisioning service's.
    slug = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100)
    owner_email = serializers.EmailField(max_length=254)
    owner_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    plan = serializers.CharField(max_length=32, required=False, default="free")


class SuspendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
