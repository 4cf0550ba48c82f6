"""Settings for every environment, read from environment variables (see README, "Configuration").

``DJANGO_ENV=production`` turns on the production rules: no debug, no default secret key, allowed
hosts and database URL required, HTTPS-only cookies and HSTS, so that ``manage.py check --deploy``
passes with no warnings. Anything else is a developer's machine or CI, with working defaults.
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENT = env_str("DJANGO_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY",
    "django-insecure-local-development-key-never-use-in-production",
    required=PRODUCTION,
)

# The root domain serves the operator's side; each tenant is <slug>.<BASE_DOMAIN>.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost").lower()
# The platform's own hosts. Tenants' verified custom domains are data, not settings, so Django's
# own check allows any Host and tenants.domain_verification checks it: these hosts or a verified
# domain, else 400 (README, "Custom domains").
PLATFORM_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"], required=PRODUCTION
)
ALLOWED_HOSTS = ["*"]
# Origins trusted for cross-origin unsafe requests, e.g. "https://*.example.com". Same-origin
# requests on a tenant's own subdomain pass Django's CSRF origin check without being listed.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# --- Applications ------------------------------------------------------------------------------
# django-tenants: SHARED_APPS have tables in the public schema, TENANT_APPS in every tenant
# schema. auth, sessions and admin are in both, so operators (public) and each tenant's users
# (tenant schema) are separate accounts with separate sessions.
SHARED_APPS = [
    # Before django_tenants: of two apps' management commands with one name, the first app's wins,
    # and our `delete_tenant` (the lifecycle's soft delete) must win over django-tenants' own.
    "tenants",
    "django_tenants",
    "tenant_apps.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    # django-unfold's templates and static files, before the admin whose templates they override;
    # its basic config, since the default one replaces admin.site (tenants/admin_site.py).
    "unfold.apps.BasicAppConfig",
    # django.contrib.admin, with a global site that refuses lookups on secret columns.
    "tenants.admin_site.PlatformAdminConfig",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "knox",
    "axes",
    # Two-factor sign-in for operators (tenant_apps/accounts/two_factor.py says why django-otp).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "shared_apps.operator_api",
    "shared_apps.signup",
    # The root domain's home: sign in to a workspace, find one's workspaces by email.
    "shared_apps.workspace_finder",
    # The platform's own emails (workspace_finder's list) get an outbox table in the public schema
    # too; tenant_apps/outbox/services.py (queue_platform_email) says why not a tenant's outbox.
    "tenant_apps.outbox",
    # The project package, for `manage.py dev` (config/management/): the launcher wires every layer
    # (embedded servers, demo data, all processes), so it lives with the wiring, not in `tenants`.
    "config",
    # One form markup for the root domain's forms (signup, find my workspace); no tables. The pack
    # is "platform" (CRISPY_TEMPLATE_PACK below), in tenant_apps/accounts/templates/platform/.
    "crispy_forms",
    # The root domain's pages (home, pricing, docs, changelog) in Wagtail, edited by operators at
    # /cms/ (README "The root site's pages"). Shared apps only: their tables live in the public
    # schema, never in a tenant's (tests/site_pages/test_tenant_schema.py). No redirects app nor
    # its middleware: that would query Wagtail's tables on every tenant request.
    "shared_apps.site_pages",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "unfold.apps.BasicAppConfig",
    "tenants.admin_site.PlatformAdminConfig",
    "tenant_apps.accounts",
    "knox",
    "axes",
    # Two-factor sign-in for each tenant's users, in the tenant's schema.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "tenant_apps.outbox",
    "tenant_apps.projects",
    # The same markup for every form of a workspace's pages (crispy_forms has no tables; listed
    # in both because each list says what its host's pages use).
    "crispy_forms",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
AUTH_USER_MODEL = "accounts.User"
# The tenancy core (tenants/) imports no app: what it needs from them is named here.
# The first owner of a new tenant, created in its schema inside provisioning's transaction (and
# emailed a one-time set-password link when no password is given): ``f(email, *, password,
# full_name) -> owner``.
TENANT_FIRST_OWNER_HOOK = "tenant_apps.accounts.provisioning.create_first_owner"
# Columns apps add to the global admin's list of tenants: (heading, ``values(schemas) -> {schema:
# value}`` answering for a whole page of tenants at once, ``render(value or None) -> cell``).
TENANT_ADMIN_COLUMNS = [
    (
        "Emails, last 24 h",
        "tenant_apps.outbox.reports.email_counts_by_schema",
        "tenant_apps.outbox.reports.email_counts_html",
    ),
]
# The global admin's dashboard (tenants/admin_theme.py): emails by status in the last 24 h of
# every tenant, in one statement: ``f(schemas) -> {schema: {status: count}}``.
TENANT_EMAIL_COUNTS_HOOK = "tenant_apps.outbox.reports.email_counts_by_schema"
# Each tenant admin's sidebar and dashboard, which only the tenant apps can fill
# (tenant_apps/accounts/admin_dashboard.py): ``navigation(request) -> [(group, [model label or
# (title, url name, permitted(request))])]`` and ``panels(request) -> [panel]``.
TENANT_ADMIN_NAVIGATION_HOOK = "tenant_apps.accounts.admin_dashboard.navigation"
TENANT_ADMIN_DASHBOARD_HOOK = "tenant_apps.accounts.admin_dashboard.panels"

STATIC_ROOT = BASE_DIR / "staticfiles"

MIDDLEWARE = [
    # First: a control character in the path, query string or a header is a 400 before anything
    # reads the request (tenants/request_guards.py).
    "tenants.request_guards.RequestGuardMiddleware",
    # The Host check, custom domains' verification tokens and the proxy's TLS question, before
    # routing (tenants/domain_verification.py).
    "tenants.domain_verification.CustomDomainMiddleware",
    # Every later layer runs in the schema of the tenant named by the Host header.
    "tenants.middleware.TenantHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session gave a second factor (django-otp). Then
    # who must have given one: a workspace's users (its policy, or their own device), operators
    # on the root domain (OPERATOR_TWO_FACTOR_REQUIRED, or their own device).
    "django_otp.middleware.OTPMiddleware",
    "tenant_apps.accounts.two_factor.TwoFactorPolicyMiddleware",
    "tenants.operator_two_factor.OperatorTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if PRODUCTION or STATIC_ROOT.is_dir():
    # gunicorn serves collected static files through WhiteNoise (production, and the compose image,
    # which collects them at build time); runserver serves them itself on a dev machine.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# django-crispy-forms with our own template pack, "platform" (tenant_apps/accounts/templates/platform/,
# README "Forms"): the pages' forms render one accessible markup in the app's look. Bootstrap's
# packs are not allowed: the app does not load Bootstrap, so their markup would be unstyled.
CRISPY_TEMPLATE_PACK = "platform"
CRISPY_ALLOWED_TEMPLATE_PACKS = ("platform",)
# A layout naming a field the form lacks fails the page (and its test) instead of dropping the field.
CRISPY_FAIL_SILENTLY = False

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Data stores -------------------------------------------------------------------------------
# Unset DATABASE_URL/REDIS_URL on a developer's machine: manage.py and pytest start embedded
# servers (config/embedded.py) and set both variables before these lines run.
DATABASE_URL = env_str(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tenantplatform", required=PRODUCTION
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
# django-tenants' backend without a SET search_path or a health check that changes nothing
# (tenants/db/base.py).
DATABASES["default"]["ENGINE"] = "tenants.db"
# The password apart from the URL, e.g. DATABASE_PASSWORD_FILE=/run/secrets/db_password (config/env.py).
if _database_password := env_str("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = _database_password
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# "transaction" when DATABASE_URL points at PgBouncer in transaction mode: the schema is then set
# inside every transaction instead of once per connection (tenants/db/pooling.py, README
# "Connection pooling"). "session" (the default) for a direct connection or session pooling.
DATABASES["default"]["POOL_MODE"] = env_str("DATABASE_POOL_MODE", "session")
# A reused connection that answered a query less than this long ago skips the health check's
# `SELECT 1` (tenants/db/base.py); one idle for longer is checked before the request uses it.
CONN_HEALTH_CHECK_IDLE_SECONDS = env_int("CONN_HEALTH_CHECK_IDLE_SECONDS", 10)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Issue `SET search_path` only when the schema changes, not before every cursor (which doubles the
# round trips): the middleware resets the schema at the start of every request anyway.
TENANT_LIMIT_SET_CALLS = True
# Every set_tenant of a connection is copied into a ContextVar, so a thread or task started for a
# request gets a connection in the request's tenant, not the public schema (tenants/context.py).
EXTRA_SET_TENANT_METHOD_PATH = "tenants.context.remember"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0", required=PRODUCTION)


def redis_url_for_db(url: str, db: int) -> str:
    """The same Redis server as ``url`` with another logical database (TCP or unix socket)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("db="))
        return f"unix://{parts.path}?{'&'.join(filter(None, [query, f'db={db}']))}"
    return parts._replace(path=f"/{db}").geturl()


def redis_db_of(url: str) -> int:
    """The logical database a Redis URL names (TCP path ``/2`` or unix socket ``?db=2``), else 0."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = next((p.removeprefix("db=") for p in parts.query.split("&") if p.startswith("db=")), "")
    else:
        db = parts.path.strip("/")
    return int(db) if db else 0


def celery_url(url: str) -> str:
    """Kombu names a unix-socket Redis ``redis+socket://``; redis-py names it ``unix://``."""
    if url.startswith("unix://"):
        return "redis+socket://" + url.removeprefix("unix://")
    return url


# The cache (tenant host lookups, throttles) lives in its own logical database, so flushing it
# never touches the Celery queues: the one after REDIS_URL's, unless CACHE_REDIS_DB names one or
# CACHE_URL the whole URL. Derived, not fixed: two setups on one Redis server (REDIS_URL .../0
# and .../2) get two caches, not one.
CACHE_REDIS_DB = env_int("CACHE_REDIS_DB", redis_db_of(REDIS_URL) + 1)
CACHE_URL = env_str("CACHE_URL", redis_url_for_db(REDIS_URL, CACHE_REDIS_DB))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "tp"),
        # Every key starts with the current schema (django-tenants), so one tenant's entries
        # (throttle buckets, rate limits) never meet another's. Its reverse, REVERSE_KEY_FUNCTION,
        # is a django-redis setting: Django's RedisCache lists no keys and has no use for it.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "TIMEOUT": 300,
    }
}
# How long a host-to-tenant lookup stays cached. Changes of a Tenant or Domain through the ORM
# (saves, deletes, queryset updates, bulk writes) invalidate it at once; the timeout only bounds
# how long an entry lingers after a change made in SQL.
TENANT_CACHE_SECONDS = env_int("TENANT_CACHE_SECONDS", 600)
# Each process's own copy of host lookups (tenants/host_cache.py): how often it asks Redis whether
# a tenant or domain changed, i.e. how long another process may still route by the old row.
TENANT_HOST_LOCAL_SECONDS = env_int("TENANT_HOST_LOCAL_SECONDS", 2)

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = celery_url(env_str("CELERY_BROKER_URL", REDIS_URL))
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}

# --- Queues and the email pipeline (issue 12) ------------------------------------------------------
# Four queues (config/task_routes.py): email (transactional), email_bulk, bulk (exports, pool,
# purges, domains, digests' fan-out), default. Work left on the old single queue "celery" after an
# upgrade is drained by a worker started with `-Q celery` once.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = ("config.task_routes.route_task",)
# tenant-schemas-celery keeps each schema's Tenant row this long in the worker, saving a query per
# task. Only the schema switch uses it: every rule on the tenant's status reads it fresh (the
# outbox's claim, tenants.fanout), so a suspended or deleted tenant's tasks hold as before.
CELERY_TASK_TENANT_CACHE_SECONDS = env_int("CELERY_TASK_TENANT_CACHE_SECONDS", 30)
# Celery's Django fixup closes the database connection before and after every task unless this is
# set: two new connections per task, a third of a short task's time. Reused for this many tasks
# (CONN_HEALTH_CHECKS replaces a broken one); DB_CONN_MAX_AGE=0 keeps the close-per-task.
CELERY_DB_REUSE_MAX = 1000 if env_int("DB_CONN_MAX_AGE", 60) else None
# Bulk mail (fnmatch patterns of outbox templates) is paced per tenant: at most this many rows per
# second per tenant after a first burst (tenant_apps/outbox/pacing.py; 0 turns pacing off).
OUTBOX_BULK_TEMPLATES = env_list("OUTBOX_BULK_TEMPLATES", ["projects/*"])
OUTBOX_BULK_RATE_PER_TENANT = float(env_int("OUTBOX_BULK_RATE_PER_TENANT", 20))
OUTBOX_BULK_BURST_PER_TENANT = env_int("OUTBOX_BULK_BURST_PER_TENANT", 50)

# --- Tenant pool (tenants/pool.py) ---------------------------------------------------------------
# Ready, migrated spare schemas kept for new tenants, so provisioning runs no migration. The beat
# job tops the pool up to this size (0 turns the pool off: the template copy, else migrations, serve).
TENANT_POOL_SIZE = env_int("TENANT_POOL_SIZE", 5)
# --- Migrating every tenant (tenants/migrating.py, `manage.py migrate_tenants`) -------------------
# Forked processes that migrate schemas at once, each with its own database connection.
TENANT_MIGRATE_PROCESSES = env_int("TENANT_MIGRATE_PROCESSES", 4)
# A tenant is held (pages 503, tasks deferred) while its schema migrates; a crashed run's holds
# lapse after this long.
TENANT_MIGRATE_HOLD_SECONDS = env_int("TENANT_MIGRATE_HOLD_SECONDS", 600)
# The 503's Retry-After, and how long a held tenant's task waits before it is tried again.
TENANT_MIGRATE_RETRY_SECONDS = env_int("TENANT_MIGRATE_RETRY_SECONDS", 5)
# `migrate_schemas --executor=tenants` runs the same code (tenants/migration_executor.py).
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"
CELERY_BEAT_SCHEDULE["tenants-refill-pool"] = {
    "task": "tenants.refill_pool",
    "schedule": float(env_int("TENANT_POOL_REFILL_SECONDS", 60)),
}

# --- Authentication ----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Tenant users sign in on their subdomain's own page (tenant_apps.accounts).
LOGIN_URL = "/accounts/sign-in/"
LOGIN_REDIRECT_URL = "/"
# One-time set-password links sent to new tenant owners expire after this many seconds.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
# Scheme used in links printed or emailed outside a request (provisioning, emails).
PUBLIC_SCHEME = env_str("PUBLIC_SCHEME", "https" if PRODUCTION else "http")
# Port appended to tenant URLs printed outside a request ("" in production behind a proxy).
PUBLIC_PORT = env_str("PUBLIC_PORT", "" if PRODUCTION else "8000")

# Host-only cookies: a cookie set by acme.example.com is never sent to globex.example.com.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
# Database sessions that keep the profile's list of a user's sessions in step (accounts.UserSession).
SESSION_ENGINE = "tenant_apps.accounts.session_store"

# --- Internationalisation and static files -----------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STORAGES = {
    # Files of the current schema's tenant under MEDIA_ROOT/tenants/<schema>/ (the root domain's under
    # tenants/public/): a name saved by acme opens nothing for globex (README, "No leak through
    # process-level state").
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    # Exports name their schema in the path themselves (exports/<schema>/<id>.zip) and are opened
    # from the public schema by the operator's doors: one storage for every schema (tenants/exports.py).
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email -------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"no-reply@{BASE_DOMAIN}")

# --- Logs (issue 12) ----------------------------------------------------------------------------
# Structured lines (config/logs.py; README, "Logs"): each carries the schema, request id, user id
# and task id where known. LOG_FORMAT: "console" (readable) or "json" (one object per line).
# LOG_LEVEL: the root level of web, worker and beat; unset, INFO for web and a worker's or beat's
# --loglevel for them.
from config.logs import configure_structlog, logging_config  # noqa: E402

LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "console")
LOG_LEVEL = env_str("LOG_LEVEL", "")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL or "INFO")
LOGGING["loggers"].update(
    {
        "django.db.backends": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},  # the embedded server's command lines, every start and stop
    }
)
configure_structlog()
# First: every line of the request, the other middlewares' included, carries its request id.
MIDDLEWARE.insert(0, "config.logs.RequestContextMiddleware")

# --- Production hardening (manage.py check --deploy passes with no warnings) --------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health checks come from inside the network over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^-/health/$", r"^-/ready/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# --- Accounts and REST API ---------------------------------------------------------------------
from datetime import timedelta  # noqa: E402

# django-axes sees every sign-in (tenant sign-in page, token endpoints, both admins) through its
# backend; its middleware turns a lockout into a response. Attempts are rows in the schema of the
# host being signed in to, so a lockout on acme never locks the same email out of globex.
# The policy (tenant_apps/accounts/lockout.py, README "Accounts and API"): AXES_FAILURE_LIMIT per
# account and address; wider limits per address and per account, which never lock an account out
# of an address it has signed in from before; only a success on the account clears its failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_HANDLER = "tenant_apps.accounts.lockout.AccountAddressHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 4 * AXES_FAILURE_LIMIT)
AXES_ACCOUNT_FAILURE_LIMIT = env_int("AXES_ACCOUNT_FAILURE_LIMIT", 4 * AXES_FAILURE_LIMIT)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# Deletes the failures of the account from the address that just signed in to it, nothing else.
AXES_RESET_ON_SUCCESS = True
# An attempt refused during a lock is not recorded: it neither extends the lock nor counts
# towards the wider limits.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "tenant_apps.accounts.lockout.username_of_attempt"
AXES_LOCKOUT_CALLABLE = "tenant_apps.accounts.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = [
    "password",
    "password1",
    "password2",
    "old_password",
    "new_password1",
    "new_password2",
    "token",
]
# Reverse proxies in front of Django (Caddy in production): the client address of lockouts, API
# throttles and reset-email limits is then read from X-Forwarded-For (tenants.request_guards).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if PRODUCTION else 0)
AXES_CLIENT_IP_CALLABLE = "tenants.request_guards.client_address"

# Invitation links stop working after this many days.
INVITATION_EXPIRY_DAYS = env_int("INVITATION_EXPIRY_DAYS", 7)
# Password-reset emails per address and hour (four times that per client address).
PASSWORD_RESET_EMAILS_PER_HOUR = env_int("PASSWORD_RESET_EMAILS_PER_HOUR", 3)

# The platform's API plumbing lives in config/api/ (both APIs, tenant and operator, use it).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "config.api.throttling.UserThrottle",
        "config.api.throttling.AnonThrottle",
    ],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.DepthLimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Requests per user (or per client address when anonymous), per schema; read on every request.
API_THROTTLE_RATES = {
    "user": env_str("API_THROTTLE_USER", "600/min"),
    "anon": env_str("API_THROTTLE_ANON", "60/min"),
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 10)),
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
}
API_CONVENTIONS = (
    "Authenticate with `Authorization: Bearer <token>` (POST /api/v1/auth/token/ with an email and "
    "password; tokens expire and can be revoked) or with the session of the signed-in site. Ids are "
    "UUIDs. Lists are paginated: `?page=N&page_size=N`, answering `{count, next, previous, results}`. "
    'Errors: a 400 answers `{"<field>": ["message"]}` (errors not tied to a field under '
    '`non_field_errors`); every other error answers `{"detail": "message"}`. Requests are '
    "throttled per user (429), and repeated failed sign-ins lock the account out of that address "
    "for a while."
)
SPECTACULAR_SETTINGS = {
    "TITLE": "Workspace API",
    "DESCRIPTION": "The API of one workspace, served on its own subdomain. " + API_CONVENTIONS,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files are served by the platform itself, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Wagtail's admin API (/cms/api/ on the root domain) is its editor's, not the platform's.
    "PREPROCESSING_HOOKS": ["shared_apps.site_pages.admin_access.without_cms_endpoints"],
}
# Axes logs every sign-in at INFO; its lockouts are warnings.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}

# --- Transactional email -----------------------------------------------------------------------
# Every email leaves through the outbox (tenant_apps.outbox; README, "Email delivery"). Which
# backend the worker hands it to: EMAIL_PROVIDER names an ESP served by django-anymail (production);
# unset, EMAIL_BACKEND decides (console by default; compose points SMTP at Mailpit).
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)

# Provider -> (anymail backend, {ANYMAIL setting: required?}); each setting is read from the
# environment variable of the same name, e.g. POSTMARK_SERVER_TOKEN.
EMAIL_PROVIDERS = {
    "postmark": (
        # anymail's Postmark backend plus send_batch: many emails per call to /email/batch.
        "tenant_apps.outbox.backends.PostmarkEmailBackend",
        {"POSTMARK_SERVER_TOKEN": True, "POSTMARK_API_URL": False, "POSTMARK_MESSAGE_STREAM": False},
    ),
    "sendgrid": ("anymail.backends.sendgrid.EmailBackend", {"SENDGRID_API_KEY": True}),
    "mailgun": (
        "anymail.backends.mailgun.EmailBackend",
        {
            "MAILGUN_API_KEY": True,
            "MAILGUN_SENDER_DOMAIN": False,
            "MAILGUN_API_URL": False,
            "MAILGUN_WEBHOOK_SIGNING_KEY": False,
        },
    ),
    # Credentials and region come from boto3's own AWS_* variables (django-anymail[amazon-ses]).
    "amazon_ses": ("anymail.backends.amazon_ses.EmailBackend", {"AMAZON_SES_CONFIGURATION_SET_NAME": False}),
    "brevo": ("anymail.backends.brevo.EmailBackend", {"BREVO_API_KEY": True}),
    # anymail's Resend backend plus the Idempotency-Key header: Resend de-duplicates resends.
    "resend": ("tenant_apps.outbox.backends.ResendEmailBackend", {"RESEND_API_KEY": True}),
}
EMAIL_PROVIDER = env_str("EMAIL_PROVIDER", "").lower()
ANYMAIL = {
    # "user:password" the provider's webhook sends as basic auth (README, "Email delivery").
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET", "", required=PRODUCTION and bool(EMAIL_PROVIDER)),
    # Below the task's soft time limit, so a hung provider is a retry, not a killed worker.
    "REQUESTS_TIMEOUT": env_int("EMAIL_PROVIDER_TIMEOUT", 20),
}
# In production a backend that delivers nothing would lose every email without an error.
_UNDELIVERING = (
    "console.EmailBackend",
    "locmem.EmailBackend",
    "dummy.EmailBackend",
    "filebased.EmailBackend",
)
if PRODUCTION and not EMAIL_PROVIDER and EMAIL_BACKEND.endswith(_UNDELIVERING):
    raise ImproperlyConfigured(
        "Production needs a mail backend that delivers: set EMAIL_PROVIDER (an ESP through django-anymail) "
        "or EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST."
    )
if EMAIL_PROVIDER:
    if EMAIL_PROVIDER not in EMAIL_PROVIDERS:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={EMAIL_PROVIDER!r} is not one of {sorted(EMAIL_PROVIDERS)}."
        )
    EMAIL_BACKEND, _provider_settings = EMAIL_PROVIDERS[EMAIL_PROVIDER]
    for _name, _required in _provider_settings.items():
        if _value := env_str(_name, "", required=_required):
            ANYMAIL[_name] = _value

# Transactional mail leaves in drains (tenant_apps/outbox/drain_marks.py): one task per schema
# claims its due rows OUTBOX_BATCH_SIZE at a time (one provider call per batch where the backend
# batches; Postmark takes 500), and hands over to the next drain, behind other tenants' tasks,
# after OUTBOX_DRAIN_MAX_ROWS rows or OUTBOX_DRAIN_MAX_SECONDS. A drain's mark expires after
# OUTBOX_DRAIN_MARK_SECONDS if its task never ran.
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50)
OUTBOX_DRAIN_MAX_ROWS = env_int("OUTBOX_DRAIN_MAX_ROWS", 500)
OUTBOX_DRAIN_MAX_SECONDS = float(env_int("OUTBOX_DRAIN_MAX_SECONDS", 10))
OUTBOX_DRAIN_MARK_SECONDS = env_int("OUTBOX_DRAIN_MARK_SECONDS", 60)
if OUTBOX_BATCH_SIZE < 1:
    raise ImproperlyConfigured("OUTBOX_BATCH_SIZE must be at least 1.")

# Retries of transient provider errors: exponential backoff with jitter, then failed.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6)
OUTBOX_RETRY_BASE_SECONDS = float(env_int("OUTBOX_RETRY_BASE_SECONDS", 30))
OUTBOX_RETRY_MAX_SECONDS = float(env_int("OUTBOX_RETRY_MAX_SECONDS", 900))
# Recovery (beat, every OUTBOX_RECOVERY_INTERVAL_SECONDS, per active tenant): rows queued this long
# past their due time are enqueued again; rows in "sending" this long are re-queued. The sending
# timeout must stay above CELERY_TASK_TIME_LIMIT, or a live worker's row could be sent twice.
OUTBOX_QUEUED_GRACE_SECONDS = float(env_int("OUTBOX_QUEUED_GRACE_SECONDS", 120))
OUTBOX_SENDING_TIMEOUT_SECONDS = float(env_int("OUTBOX_SENDING_TIMEOUT_SECONDS", 600))
if OUTBOX_SENDING_TIMEOUT_SECONDS <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("OUTBOX_SENDING_TIMEOUT_SECONDS must be longer than CELERY_TASK_TIME_LIMIT.")
CELERY_BEAT_SCHEDULE["outbox-recover-stalled"] = {
    "task": "outbox.recover_all_tenants",
    "schedule": float(env_int("OUTBOX_RECOVERY_INTERVAL_SECONDS", 60)),
}

# --- Projects ------------------------------------------------------------------------------------
from celery.schedules import crontab  # noqa: E402

# Each morning, every active tenant's users get one digest of their tasks due today or tomorrow.
CELERY_BEAT_SCHEDULE["projects-due-digest"] = {
    "task": "projects.send_due_digests",
    "schedule": crontab(hour=env_int("DIGEST_HOUR_UTC", 7), minute=0),
}

# --- Signup and login hand-off (issue 10) ---------------------------------------------------------
# Self-service signup at /signup/ on the root domain (shared_apps/signup). Off for a platform whose
# tenants only its operators provision: /signup/ is then a 404.
SIGNUP_ENABLED = env_bool("SIGNUP_ENABLED", True)
# Operators (the global admin, the operator API's tokens) sign in with a second factor
# (tenants/operator_two_factor.py); on by default in production.
OPERATOR_TWO_FACTOR_REQUIRED = env_bool("OPERATOR_TWO_FACTOR_REQUIRED", PRODUCTION)
# django-otp's admin pages never show a device's key or the recovery codes (secrets shown once).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Per client address, in the cache: signup submissions (accepted or refused), and the slug
# availability checks the form makes as the visitor types. "<count>/<s|m|h|d>".
SIGNUP_RATE = env_str("SIGNUP_RATE", "5/h")
SIGNUP_CHECK_RATE = env_str("SIGNUP_CHECK_RATE", "120/m")
# "Find my workspace" on the root domain (shared_apps/workspace_finder): list emails per address
# and requests per client address, per hour. Past either the page answers the same; nothing is sent.
WORKSPACE_FINDER_EMAILS_PER_HOUR = env_int("WORKSPACE_FINDER_EMAILS_PER_HOUR", 3)
WORKSPACE_FINDER_REQUESTS_PER_HOUR = env_int("WORKSPACE_FINDER_REQUESTS_PER_HOUR", 20)
# A one-time login hand-off link (tenant_apps/accounts/handoff.py) works for this many seconds.
LOGIN_HANDOFF_SECONDS = env_int("LOGIN_HANDOFF_SECONDS", 60)

# --- Plans and limits (issue 10) -----------------------------------------------------------------
# The plans a tenant can be on, each with the limits it starts with (None: no limit). The limits
# are then data on the Tenant row, which an operator may override per tenant (tenants/limits.py).
TENANT_PLANS = {
    "free": {"max_users": 5, "max_projects": 10, "max_storage_mb": 100},
    "team": {"max_users": 25, "max_projects": 100, "max_storage_mb": 2_048},
    "business": {"max_users": 250, "max_projects": None, "max_storage_mb": 20_480},
    "unlimited": {"max_users": None, "max_projects": None, "max_storage_mb": None},
}
# The plan of a newly provisioned tenant (the CLI, the admin, the operator API and signup).
TENANT_DEFAULT_PLAN = env_str("TENANT_DEFAULT_PLAN", "free")
if TENANT_DEFAULT_PLAN not in TENANT_PLANS:
    raise ImproperlyConfigured(f"TENANT_DEFAULT_PLAN must be one of {', '.join(TENANT_PLANS)}")
# What counts toward each limit, per app: ``f(schemas) -> {schema: count}`` (the tenancy core
# imports no app). Storage is the size of the tenant's schema, measured by tenants/limits.py.
TENANT_USAGE_COUNTERS = {
    "users": "tenant_apps.accounts.services.seats_by_schema",
    "projects": "tenant_apps.projects.services.projects_by_schema",
}
# How long a tenant's measured schema size is reused by the storage check of each write.
TENANT_STORAGE_CACHE_SECONDS = env_int("TENANT_STORAGE_CACHE_SECONDS", 60)

# --- Tenant lifecycle: delete, restore, purge, rename (issue 10) -------------------------------
# A deleted tenant can be restored, with its data, for this many days; then the beat job below
# drops its schema for good (tenants/lifecycle.py).
TENANT_DELETE_GRACE_DAYS = env_int("TENANT_DELETE_GRACE_DAYS", 30)
# A renamed tenant's old host redirects to the new one for this many days; then the name is free.
TENANT_RENAME_REDIRECT_DAYS = env_int("TENANT_RENAME_REDIRECT_DAYS", 30)
# A browser signed in on a renamed tenant's old host is sent through a one-time login hand-off to
# the new host (cookies are host-only): ``f(user, next_path) -> absolute URL``, called in the
# tenant's schema (the tenancy core imports no app).
TENANT_LOGIN_HANDOFF_HOOK = "tenant_apps.accounts.handoff.issue_login_handoff"
# Purges tenants past their grace period and deletes expired redirects.
CELERY_BEAT_SCHEDULE["tenants-purge-deleted"] = {
    "task": "tenants.purge_deleted",
    "schedule": float(env_int("TENANT_PURGE_INTERVAL_SECONDS", 3600)),
}

# --- The root site's pages: Wagtail (issue 14) -------------------------------------------------
# shared_apps/site_pages; README "The root site's pages". Wagtail's admin is at /cms/ on the root
# domain, for operators (shared_apps/site_pages/admin_access.py).
WAGTAIL_SITE_NAME = "Platform"
WAGTAILADMIN_BASE_URL = f"{PUBLIC_SCHEME}://{BASE_DOMAIN}{f':{PUBLIC_PORT}' if PUBLIC_PORT else ''}"
# Operators sign in where they do for the global admin (its form, lockouts and second factor).
WAGTAILADMIN_LOGIN_URL = WAGTAIL_FRONTEND_LOGIN_URL = "/admin/login/"
# Wagtail's search of pages in the admin uses PostgreSQL's full-text search in the public schema.
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# No "Wagtail update available" call to wagtail.org from the operators' dashboard.
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Wagtail's background jobs (reference and search index updates) run in the saving process after
# the commit; the backend works around a django-tasks bug on Python 3.11 (its module says which).
TASKS = {"default": {"BACKEND": "shared_apps.site_pages.task_backend.ImmediateBackend"}}

# --- Exports (issue 10) --------------------------------------------------------------------------
# A tenant's data as a zip of JSON files (tenants/exports.py), built by the job tenants.build_export
# and kept in the "exports" storage, under MEDIA_ROOT/exports/<schema>/ (never served as static
# files: downloads go through the operator's and the owner's signed-in doors), for this many days.
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media"))
# The default storage's folder of each schema, under MEDIA_ROOT (django-tenants' TenantFileSystemStorage).
MULTITENANT_RELATIVE_MEDIA_ROOT = "tenants/%s"
TENANT_EXPORT_KEEP_DAYS = env_int("TENANT_EXPORT_KEEP_DAYS", 7)
# The build's own hard time limit (a big tenant takes longer than CELERY_TASK_TIME_LIMIT); a row
# still running past it is marked failed by the beat job below. A pending row whose job never
# reached the broker is enqueued again after the grace.
TENANT_EXPORT_TIME_LIMIT = env_int("TENANT_EXPORT_TIME_LIMIT", 3600)
TENANT_EXPORT_PENDING_GRACE_SECONDS = env_int("TENANT_EXPORT_PENDING_GRACE_SECONDS", 300)
# Tells the requester an archive is ready: ``f(export)``, called in the tenant's schema (the
# tenancy core imports no app).
TENANT_EXPORT_READY_HOOK = "tenant_apps.accounts.emails.export_ready"
# What an export leaves out, reviewed: whole models ("__all__") or some of their columns. Secrets
# (STYLE.md): password hashes, API token digests and keys, session data, invitation token hashes,
# the outbox's one-time links, and django-axes' sign-in records (addresses, user agents, and the
# POST data of failed sign-ins).
TENANT_EXPORT_EXCLUDE = {
    "sessions.Session": "__all__",
    "accounts.UserSession": "__all__",
    "knox.AuthToken": "__all__",
    "axes.AccessAttempt": "__all__",
    "axes.AccessAttemptExpiration": "__all__",
    "axes.AccessFailureLog": "__all__",
    "axes.AccessLog": "__all__",
    "accounts.User": ["password"],
    "accounts.Invitation": ["token_hash"],
    "outbox.OutboxMessage": ["secret_values"],
    # Two-factor devices (django-otp): the authenticator's key and the recovery codes are
    # credentials; an archive never carries them (whoever restores one enrolls again).
    "otp_totp.TOTPDevice": "__all__",
    "otp_static.StaticDevice": "__all__",
    "otp_static.StaticToken": "__all__",
}
# Columns whose names look secret (tenants.exports.looks_secret) but hold none, reviewed: any
# other such column stops the export until it is listed here or above.
TENANT_EXPORT_REVIEWED_SAFE = [
    # A de-duplication key sent to the email provider: an identifier, not a credential.
    "outbox.OutboxMessage.dedup_key",
    # The user's choice to receive the daily digest (a boolean).
    "projects.NotificationPreferences.digest",
]
CELERY_BEAT_SCHEDULE["tenants-expire-exports"] = {
    "task": "tenants.expire_exports",
    "schedule": float(env_int("TENANT_EXPORT_EXPIRY_INTERVAL_SECONDS", 600)),
}

# --- Custom domains (issue 10) -------------------------------------------------------------------
# A tenant's custom domains (tenants/domains.py) beside its own subdomain, at most this many.
TENANT_MAX_CUSTOM_DOMAINS = env_int("TENANT_MAX_CUSTOM_DOMAINS", 5)
# What a customer's CNAME points at, in the instructions shown to the operator.
CUSTOM_DOMAIN_CNAME_TARGET = env_str("CUSTOM_DOMAIN_CNAME_TARGET", BASE_DOMAIN)
# The verifier fetches http://<domain>/.well-known/tenant-domain/<token>; "host:port" here makes it
# connect to that address instead of the domain's, sending the domain as Host (tests; empty: DNS).
DOMAIN_VERIFICATION_CONNECT_TO = env_str("DOMAIN_VERIFICATION_CONNECT_TO", "")
# A TXT record at _tenant-domain.<domain> with the token verifies it too; it is looked up on these
# DNS servers ("ip" or "ip:port", comma-separated; tests: a local one), empty: the system's.
DOMAIN_VERIFICATION_NAMESERVERS = env_str("DOMAIN_VERIFICATION_NAMESERVERS", "")
# Each check's whole time: the HTTP fetch, the TXT lookup.
DOMAIN_VERIFICATION_TIMEOUT_SECONDS = float(env_int("DOMAIN_VERIFICATION_TIMEOUT_SECONDS", 5))
# Beat re-checks pending domains this often, at most a batch per run, for this many days after
# they were added (then only the operator's "verify" checks them).
DOMAIN_VERIFICATION_BATCH = env_int("DOMAIN_VERIFICATION_BATCH", 100)
DOMAIN_VERIFICATION_PENDING_DAYS = env_int("DOMAIN_VERIFICATION_PENDING_DAYS", 7)
CELERY_BEAT_SCHEDULE["tenants-verify-pending-domains"] = {
    "task": "tenants.verify_pending_domains",
    "schedule": float(env_int("DOMAIN_VERIFICATION_INTERVAL_SECONDS", 300)),
}

# --- Health and readiness (issue 12) -------------------------------------------------------------
# /-/ready/ (tenants/readiness.py; README, "Health and readiness"). Every Redis round trip of the
# probe gives up after this many milliseconds, so a probe answers even when Redis hangs.
READY_REDIS_TIMEOUT_MS = env_int("READY_REDIS_TIMEOUT_MS", 500)
# Each worker's consumer writes WORKER_HEARTBEAT_KEY:<queue> (in the broker's Redis) for each queue
# it consumes, this often; the probe fails when a queue of READY_WORKER_QUEUES (by default every
# queue of config/task_routes.py) had none within READY_WORKER_MAX_AGE_SECONDS (the key's expiry).
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
READY_WORKER_MAX_AGE_SECONDS = env_int("READY_WORKER_MAX_AGE_SECONDS", 60)
WORKER_HEARTBEAT_KEY = env_str("WORKER_HEARTBEAT_KEY", "platform:worker-heartbeat")
READY_WORKER_QUEUES = env_list("READY_WORKER_QUEUES", ["default", "email", "email_bulk", "bulk"])
if READY_WORKER_MAX_AGE_SECONDS <= WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("READY_WORKER_MAX_AGE_SECONDS must be longer than WORKER_HEARTBEAT_SECONDS.")
# How long a process reuses its reading of the public schema's applied migrations.
READY_MIGRATIONS_CACHE_SECONDS = env_int("READY_MIGRATIONS_CACHE_SECONDS", 5)

# --- Metrics and errors (issue 12) ---------------------------------------------------------------
# Prometheus metrics (tenants/metrics.py; README, "Metrics and errors"). First middleware: it times
# every request, the refused ones too, and counts tenant hosts' requests for the top-tenants page.
MIDDLEWARE.insert(0, "tenants.metrics.RequestMetricsMiddleware")
# /-/metrics on the root domain asks for "Authorization: Bearer <METRICS_TOKEN>". Unset, it is
# closed in production and open only to loopback addresses elsewhere.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# A Celery worker serves its metrics (every pool process's, through PROMETHEUS_MULTIPROC_DIR) on
# this port of its own, from its main process; 0: no exporter.
METRICS_WORKER_PORT = env_int("METRICS_WORKER_PORT", 0)
METRICS_WORKER_ADDRESS = env_str("METRICS_WORKER_ADDRESS", "0.0.0.0" if PRODUCTION else "127.0.0.1")
# Each web process adds its per-tenant request counts to Redis at most this often (tenants/activity.py).
TENANT_ACTIVITY_FLUSH_SECONDS = env_int("TENANT_ACTIVITY_FLUSH_SECONDS", 5)
# Sentry, when SENTRY_DSN is set (config/sentry.py): events tagged with the tenant's schema and the
# request id, without personal data or secrets.
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", ENVIRONMENT)
try:
    SENTRY_TRACES_SAMPLE_RATE = float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0"))
except ValueError:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be a number between 0 and 1.") from None
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# --- Debug toolbar and a quiet dev console (issue 12) --------------------------------------------
# One line per 404 or error: config/logs.py gives Django's "django" logger no handler of its own
# (its default one printed each of its lines a second time under DEBUG).
# A worker's stdout (the console email backend prints each sent email) is logged at INFO, not at
# Celery's default WARNING: a sent email is no warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
# Beat's jobs and the per-tenant tasks they fan out to: Celery's routine lines about them are DEBUG
# (config/quiet_tasks.py); they log at INFO themselves when they did something.
PERIODIC_FANOUT_TASKS = ["outbox.recover_stalled", "projects.send_tenant_due_digest"]
# django-debug-toolbar on every host (root and tenants) with a "Tenant" panel (config/debug_panels.py),
# only in the web process of `manage.py dev`, which sets DEV_TOOLBAR=1 for it. Never in production,
# never in tests (tests/settings.py clears the variable), and never when the package is missing: the
# production image installs without the dev dependency group.
DEV_TOOLBAR = env_bool("DEV_TOOLBAR", False) and DEBUG and not PRODUCTION
if DEV_TOOLBAR:
    from importlib.util import find_spec

    DEV_TOOLBAR = find_spec("debug_toolbar") is not None
if DEV_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    # After the tenant middleware: the toolbar sees the request in its tenant's schema and URLconf.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("tenants.middleware.TenantHostMiddleware") + 1,
        "debug_toolbar.middleware.DebugToolbarMiddleware",
    )
    DEBUG_TOOLBAR_CONFIG = {
        # Loopback clients on any host: INTERNAL_IPS alone would do for 127.0.0.1, not for ::1.
        "SHOW_TOOLBAR_CALLBACK": "config.debug_panels.show_toolbar",
        # `manage.py dev` is no test run, even when a test starts it (pytest's PYTEST_VERSION).
        "IS_RUNNING_TESTS": False,
    }
    # The toolbar's own panels (its defaults in 8.0), after the request's tenant.
    DEBUG_TOOLBAR_PANELS = [
        "config.debug_panels.TenantPanel",
        "debug_toolbar.panels.history.HistoryPanel",
        "debug_toolbar.panels.versions.VersionsPanel",
        "debug_toolbar.panels.timer.TimerPanel",
        "debug_toolbar.panels.settings.SettingsPanel",
        "debug_toolbar.panels.headers.HeadersPanel",
        "debug_toolbar.panels.request.RequestPanel",
        "debug_toolbar.panels.sql.SQLPanel",
        "debug_toolbar.panels.staticfiles.StaticFilesPanel",
        "debug_toolbar.panels.templates.TemplatesPanel",
        "debug_toolbar.panels.alerts.AlertsPanel",
        "debug_toolbar.panels.cache.CachePanel",
        "debug_toolbar.panels.signals.SignalsPanel",
        "debug_toolbar.panels.tasks.TasksPanel",
        "debug_toolbar.panels.community.CommunityPanel",
        "debug_toolbar.panels.redirects.RedirectsPanel",
        "debug_toolbar.panels.profiling.ProfilingPanel",
    ]
