"""The platform's two admin sites, and the guard every ModelAdmin on them gets.

- The global admin (root domain, public schema) is Django's ``admin.site``, made a
  ``PlatformAdminSite`` by ``PlatformAdminConfig`` (INSTALLED_APPS names it instead of
  ``django.contrib.admin``).
- The per-tenant admin (``tenant_admin_site``, /admin/ on each tenant's domain) is a separate site:
  it lists only what tenant apps register on it (never Tenant, Domain or other public models), and
  it runs in the tenant's schema, so only that tenant's staff users can sign in; operators live in
  the public schema and do not exist there.

**Secret columns.** Django's admin accepts a lookup on any local field in the query string
(``?password__startswith=pbkdf2``) and answers it by count: enough to read a password hash or a
token digest one character at a time. Both sites wrap every ModelAdmin registered on them,
including third parties' (auth groups, axes), in ``SecretFieldsGuard``, which refuses lookups
through a secret column (400) and strips secret columns from searches, list columns, filters and
orderings. ``is_secret_field`` says which columns are secret; the system check
``check_admin_secrets`` fails startup when an admin names one, or when an admin site does not guard.

**Filter values.** Django turns a filter value it cannot use into "ignore the filters" (a redirect
to the bare list with ``?e=1``), but not every such value: dates beyond Python's years 1-9999
(``?created_at__year=99999``, ``created_at__iso_year=10000``, a date hierarchy's last year or
month, an offset that moves ``0001-01-01`` out of range) raise ValueError or OverflowError while
Django builds the bounds or compiles the SQL, a 500. The guard's changelist gives those the same
answer as any other unusable filter.

**The look: django-unfold.** Both sites are ``UnfoldAdminSite``s and every ModelAdmin registered on
them, third parties' included (auth groups, axes, knox), gets unfold's ModelAdmin mixed in at
``register()``, so no page falls back to the stock look. Unfold was chosen over the alternatives
because it is actively maintained and follows Django's releases, is built on Tailwind (one
stylesheet, dark mode, responsive), has dashboards (the index takes our own panels) and a
configurable sidebar, and works with custom ``AdminSite`` subclasses such as ours, with a
configuration per site (``settings_name``) whose values may be callables of the request (the
tenant's name and colour). django-jazzmin restyles Bootstrap 4 templates and replaces
``admin.site`` habits with its own settings, and is slow to follow Django releases;
django-grappelli is maintained but dated, and its dashboard is a separate package with its own
registry; django-admin-interface themes colours and logos from the database, but keeps the stock
layout and has neither a sidebar nor dashboards. Each site's navigation and dashboard:
``tenants/admin_theme.py`` (global) and the apps' hooks it names (tenant admin).
"""

import functools
import logging
import re

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.sites import all_sites
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DataError, models, transaction
from django.db.models.constants import LOOKUP_SEP
from unfold.sites import UnfoldAdminSite

logger = logging.getLogger(__name__)

# A column holding a credential or something derived from one: passwords and their hashes, token
# digests and keys, invitation token hashes, session keys and data, stored secrets. Only columns
# that can hold such characters count (a boolean "digest" email preference is not a secret), and
# ``dedup_key``-like names are not matched: a de-duplication key is an identifier, not a secret.
_SECRET_NAME = re.compile(r"password|secret|digest|token|salt|(^|_)hash$|^session_(key|data)$")
_TEXT_FIELDS = (models.CharField, models.TextField, models.BinaryField, models.JSONField)


def is_secret_field(field) -> bool:
    return isinstance(field, _TEXT_FIELDS) and bool(_SECRET_NAME.search(field.name))


def touches_secret(model, path: str) -> bool:
    """Whether the lookup, search or ordering ``path`` (``user__password__startswith``, ``-digest``,
    ``^email``) reads a secret column of ``model`` or of a model it reaches through relations."""
    for part in path.lstrip("-^=@").split(LOOKUP_SEP):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform (__startswith), a method name, or nothing Django will query
        if is_secret_field(field):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


def _paths(item, model, model_admin=None) -> list[str]:
    """The field paths an admin option entry reads: its name (entries may also be callables,
    filter classes or ``(field, FilterClass)`` pairs) and, for a column, the field it orders by
    (``admin_order_field``: ``?o=`` orders by it even when the column is not marked sortable)."""
    if isinstance(item, (list, tuple)) and item:
        item = item[0]
    paths = [item] if isinstance(item, str) else []
    if callable(item):
        attr = item
    elif isinstance(item, str):
        attr = getattr(model_admin, item, None) or getattr(model, item, None)
    else:
        attr = None
    order = getattr(attr, "admin_order_field", None)
    order = getattr(order, "expression", order)  # OrderBy(F("x")) -> F("x")
    order = getattr(order, "name", order)  # F("x") -> "x"
    if isinstance(order, str):
        paths.append(order)
    return paths


def _exposed(model, items, model_admin=None) -> list:
    """The entries of ``items`` that read a secret column."""
    return [
        item
        for item in items or ()
        if any(touches_secret(model, path) for path in _paths(item, model, model_admin))
    ]


class _FilterValuesChangeList:
    """Mixed into a ModelAdmin's ChangeList class: a filter value that Django cannot turn into a
    query (see the module's docstring) is an unusable filter, like the ones Django already refuses,
    instead of a 500. Only with filters in the query string: a plain list that fails is a bug, and
    must not look like bad input."""

    _UNUSABLE = (ValueError, OverflowError, DataError)

    def _unusable(self, exc) -> IncorrectLookupParameters:
        # The keys only: a value is whatever the visitor typed.
        logger.info(
            "%s: unusable values for the filters %s: %s",
            type(self.model_admin).__qualname__,
            sorted(self.get_filters_params()),
            type(exc).__name__,
        )
        return IncorrectLookupParameters(exc)

    def get_filters(self, request):
        # The date hierarchy's bounds: datetime(year, month, day) and the next year, month or day.
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            if not self.get_filters_params():
                raise
            raise self._unusable(exc) from exc

    def get_results(self, request):
        # The first statements of the filtered query: lookups whose bounds are computed only when
        # the SQL is compiled (__year, __iso_year, aware datetimes) fail here, and so do values
        # PostgreSQL refuses (a UTC offset beyond 15:59). The savepoint keeps such a refusal from
        # aborting the request's transaction.
        if not self.get_filters_params():
            return super().get_results(request)
        try:
            with transaction.atomic():
                return super().get_results(request)
        except self._UNUSABLE as exc:
            raise self._unusable(exc) from exc


@functools.cache
def _guarded_changelist(changelist_class):
    if issubclass(changelist_class, _FilterValuesChangeList):
        return changelist_class
    return type(
        changelist_class.__name__,
        (_FilterValuesChangeList, changelist_class),
        {"__module__": changelist_class.__module__, "__qualname__": changelist_class.__qualname__},
    )


class SecretFieldsGuard:
    """Mixed into every ModelAdmin of the platform's admin sites (see the module's docstring). Being
    on every admin, it also turns the query-string input every admin takes into 400s or ignored
    values rather than database errors: NUL in filters and searches, malformed pre-filled ids,
    filter values out of range."""

    def get_changelist(self, request, **kwargs):
        return _guarded_changelist(super().get_changelist(request, **kwargs))

    def _without_secrets(self, items, option: str):
        exposed = _exposed(self.model, items, self)
        if not exposed:
            return items
        logger.error(
            "%s: %s reads secret columns through %s; left out", type(self).__qualname__, option, exposed
        )
        return type(items)(item for item in items if item not in exposed)

    def lookup_allowed(self, lookup, value, request=None):
        if touches_secret(self.model, lookup):
            return False
        if "\x00" in str(value):  # PostgreSQL refuses NUL in text with an error, not an empty list
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        return not touches_secret(self.model, to_field) and super().to_field_allowed(request, to_field)

    def get_changeform_initial_data(self, request):
        # ?assignee=abc pre-fills an add form; a related id that is not even of the key's type
        # would reach the widget's query (a ValueError, a 500). Such a value is dropped instead.
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            target = getattr(field, "target_field", None) if field.is_relation else None
            if target is None:
                continue
            try:
                for item in value if isinstance(value, list) else [value]:
                    target.to_python(item)
            except ValidationError:
                del initial[name]
        return initial

    def get_search_results(self, request, queryset, search_term):
        if "\x00" in search_term:
            raise DisallowedModelAdminLookup("A search cannot contain a NUL character.")
        return super().get_search_results(request, queryset, search_term)

    def get_search_fields(self, request):
        return self._without_secrets(super().get_search_fields(request), "search_fields")

    def get_list_display(self, request):
        return self._without_secrets(super().get_list_display(request), "list_display")

    def get_list_filter(self, request):
        return self._without_secrets(super().get_list_filter(request), "list_filter")

    def get_ordering(self, request):
        return self._without_secrets(super().get_ordering(request) or (), "ordering")

    def get_sortable_by(self, request):
        return self._without_secrets(super().get_sortable_by(request), "sortable_by")


class GuardedAdminSite(UnfoldAdminSite):
    """An admin site whose every ModelAdmin is a SecretFieldsGuard, whoever registered it, in
    unfold's look (this site's unfold settings, navigation and dashboard: tenants/admin_theme.py,
    by ``theme``)."""

    theme = "platform"

    def __init__(self, name="admin"):
        # Not unfold's __init__: it imports its forms, hence models, and this module is imported
        # while the apps load (PlatformAdminConfig). Its only other work, a login form from
        # settings.UNFOLD, is the property below.
        AdminSite.__init__(self, name)

    @property
    def login_form(self):
        from unfold.forms import AuthenticationForm

        return AuthenticationForm

    def register(self, model_or_iterable, admin_class=None, **options):
        # Imported here: unfold.admin imports models, and this module loads with the apps.
        from unfold.admin import ModelAdmin as UnfoldModelAdmin

        # A model registered without a class (Wagtail's documents and images do) gets unfold's:
        # Django's own before it would make no consistent MRO with unfold's, its subclass.
        admin_class = admin_class or UnfoldModelAdmin
        bases = (admin_class,)
        if not issubclass(admin_class, UnfoldModelAdmin):
            # After the admin's own classes, before Django's ModelAdmin: what the admin sets
            # (templates, forms, add_fieldsets) wins over unfold's defaults.
            bases = (admin_class, UnfoldModelAdmin)
        if not issubclass(admin_class, SecretFieldsGuard):
            bases = (SecretFieldsGuard, *bases)
        if bases != (admin_class,):
            admin_class = type(
                admin_class.__name__,
                bases,
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def _get_config(self, key, *args):
        # Unfold reads one settings dict per site (``settings_name``); ours are code, next to the
        # navigation and dashboards they name, with settings.UNFOLD only as the fallback.
        from tenants import admin_theme

        value = admin_theme.config(self, key)
        if value:
            return self._get_value(value, *args)
        return super()._get_config(key, *args)

    def each_context(self, request):
        context = super().each_context(request)
        # Unfold answers None for titles it has no setting for; the site's own attributes then.
        for key in ("site_title", "site_header", "site_url"):
            if context.get(key) is None:
                context[key] = getattr(self, key)
        return context

    def index(self, request, extra_context=None):
        from tenants import admin_theme

        return super().index(request, {**admin_theme.dashboard(self, request), **(extra_context or {})})


class PlatformAdminSite(GuardedAdminSite):
    """The global admin (``django.contrib.admin.site``), on the root domain: for operators."""

    # The rule is looked up when asked: this module is imported while the apps load
    # (PlatformAdminConfig names the site), before the services' models and forms can be.

    @property
    def login_form(self):
        from tenants.forms import OperatorAuthenticationForm

        return OperatorAuthenticationForm

    def has_permission(self, request):
        from tenants import operator_two_factor
        from tenants.services import can_operate_platform

        # The operators' second factor (tenants/operator_two_factor.py), on every admin view.
        return can_operate_platform(request.user) and operator_two_factor.session_ok(request)


class PlatformAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the guarded global site."""

    default_site = "tenants.admin_site.PlatformAdminSite"


class TenantAdminSite(GuardedAdminSite):
    site_url = "/"
    theme = "tenant"
    # The tenant apps' dashboard panels (tenants/admin_theme.py); the sidebar lists the models.
    index_template = "admin/tenant_index.html"

    def has_permission(self, request):
        from tenants import second_factor

        # Not a side door: a session signed in here without its second factor (the user's own
        # device, or the workspace's policy) is not staff; the accounts app's middleware
        # (tenant_apps/accounts/two_factor.py) sends it to the code step from any page.
        required = bool(getattr(getattr(request, "tenant", None), "two_factor_required", False))
        return super().has_permission(request) and second_factor.request_meets_policy(
            request, required=required
        )

    def each_context(self, request):
        context = super().each_context(request)
        name = getattr(getattr(request, "tenant", None), "name", "Workspace")
        context.update(site_header=f"{name} admin", site_title=f"{name} admin", index_title=f"Manage {name}")
        return context


tenant_admin_site = TenantAdminSite(name="admin")

_OPTIONS = (
    "search_fields",
    "list_display",
    "list_display_links",
    "list_filter",
    "list_editable",
    "ordering",
    "sortable_by",
    "date_hierarchy",
    "raw_id_fields",
    "autocomplete_fields",
)


@checks.register(checks.Tags.admin)
def check_admin_secrets(app_configs, sites=None, **kwargs):
    """Every ModelAdmin of every admin site (or of ``sites``) is guarded and names no secret column."""
    errors = []
    for site in all_sites if sites is None else sites:
        for model, model_admin in site._registry.items():
            where = f"{model._meta.label} on admin site {site.name!r}"
            if not isinstance(model_admin, SecretFieldsGuard):
                errors.append(
                    checks.Error(
                        f"{where} is not guarded against lookups on secret columns.",
                        hint="Make the site a tenants.admin_site.GuardedAdminSite.",
                        obj=type(model_admin).__qualname__,
                        id="tenants.E101",
                    )
                )
            if is_secret_field(model._meta.pk):
                errors.append(
                    checks.Error(
                        f"{where}: its primary key is a secret column, shown in every admin URL and form.",
                        hint="Do not register this model in an admin.",
                        obj="pk",
                        id="tenants.E102",
                    )
                )
            for option in _OPTIONS:
                value = getattr(model_admin, option, None)
                if isinstance(value, str):
                    value = [value]
                if exposed := _exposed(model, value, model_admin):
                    errors.append(
                        checks.Error(
                            f"{where}: {option} reads secret columns through {exposed}.",
                            hint="A filter, search or ordering on a secret answers guesses about it.",
                            obj=option,
                            id="tenants.E103",
                        )
                    )
    return errors
