from django.apps import AppConfig


class SitePagesConfig(AppConfig):
    name = "shared_apps.site_pages"
    label = "site_pages"
    verbose_name = "Root site pages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from shared_apps.site_pages import tenant_deletes

        # Every model below has tables in the public schema only; a tenant's deletes must not
        # reach them through a foreign key (tenant_deletes.py says how they would).
        tenant_deletes.guard_public_only_relations(
            [
                "site_pages",
                "wagtailcore",
                "wagtailadmin",
                "wagtailusers",
                "wagtaildocs",
                "wagtailimages",
                "wagtailsearch",
                "taggit",
            ]
        )
