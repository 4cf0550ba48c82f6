from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants import limits
from tenants import services as tenants_services
from tenants.models import Tenant


class PlanUsageSerializer(serializers.Serializer):
    users = serializers.IntegerField(help_text="Active users and open invitations.")
    projects = serializers.IntegerField(help_text="Archived ones included.")
    storage_mb = serializers.FloatField(help_text="Disk size of the tenant's schema.")


class TenantSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    purge_after = serializers.SerializerMethodField()
    user_count = serializers.IntegerField(read_only=True, default=None, help_text="Only in lists.")
    usage = serializers.SerializerMethodField(help_text="What the tenant has, beside its plan's limits.")

    class Meta:
        model = Tenant
        fields = [
            "id",
            "slug",
            "name",
            "status",
            "suspended_reason",
            "plan",
            "max_users",
            "max_projects",
            "max_storage_mb",
            "usage",
            "url",
            "user_count",
            "deleted_at",
            "purge_after",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, tenant) -> str:
        return tenant.url()

    def get_purge_after(self, tenant) -> datetime | None:
        """When a deleted tenant's data goes for good (restorable until then); null otherwise."""
        return tenants_services.purge_after(tenant)

    @extend_schema_field(PlanUsageSerializer)
    def get_usage(self, tenant):
        # Lists attach it for the whole page at once (tenants.limits.attach_usage).
        found = getattr(tenant, "plan_usage", None)
        return found if found is not None else limits.usage(tenant)


class NewTenantSerializer(serializers.Serializer):
    # Lengths are checked here so that a too-long value is a 400, never a database error;
    # everything else (slug rules, taken slugs) is the provisioning service's.
    slug = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100)
    owner_email = serializers.EmailField(max_length=254)
    owner_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    plan = serializers.ChoiceField(choices=limits.plan_names(), required=False, default=None)


class SuspendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
