from django.core.management.base import BaseCommand

from shared_apps.site_pages.seed import seed_site_pages


class Command(BaseCommand):
    help = "Create the root site's starting pages (home, pricing, docs, changelog) where missing."

    def handle(self, *args, **options):
        site = seed_site_pages()
        self.stdout.write(f"Root site pages ready at {site.hostname} (existing pages left as they were).")
