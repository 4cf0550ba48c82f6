from django.apps import AppConfig


class SitePagesConfig(AppConfig):
    name = "shared_apps.site_pages"
    label = "site_pages"
    verbose_name = "Root site pages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib import admin

        from shared_apps.site_pages import tenant_deletes

        # Wagtail's documents and images, and taggit's tags, register themselves on the global
        # admin too; operators manage them in Wagtail's admin (/cms/), so they are taken out of it.
        # (The admin's autodiscovery ran before: its app is listed before this one.)
        for model in ("wagtaildocs.Document", "wagtailimages.Image", "taggit.Tag"):
            model = self.apps.get_model(model)
            if admin.site.is_registered(model):
                admin.site.unregister(model)

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
