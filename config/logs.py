"""Structured logs: every line of web and worker says which tenant, request, user and task it is about.

structlog wraps the standard library's logging: each ``logging.getLogger(__name__)`` call of the
project and of its libraries (Django, Celery, anymail) goes through one handler whose
``structlog.stdlib.ProcessorFormatter`` adds the context and renders the line, so nothing has to
change at the call sites. ``LOG_FORMAT=console`` (the default outside production) renders readable
lines; ``LOG_FORMAT=json`` (the default in production) one JSON object per line.

The fields a line carries (README, "Logs"):

- ``schema``: the schema the database connection of the thread is in when the line is written (the
  request's tenant, the task's tenant, ``public`` on the root domain and between tasks).
- ``request_id``: the request's ``X-Request-ID`` when it sent a sane one (``valid_request_id``),
  else a new uuid4 hex; it is sent back on the response's ``X-Request-ID`` header, travels in the
  headers of every Celery task enqueued while the request runs (and of the tasks those enqueue),
  and into the headers of the emails queued during the request (the outbox row keeps it).
- ``user_id``: the signed-in user's id in the tenant's schema (with ``schema``, that names a user;
  never the email), once something in the request has authenticated it (the session middleware's
  lazy user once read, DRF's token authentication); tasks get the user of the request that enqueued
  them.
- ``task_id`` and ``task_name`` on every line of a task, and on Celery's own lines about one
  ("received", "succeeded": those are written outside the task's run, so taken from the line).

The context lives in contextvars (structlog's), bound at the start of a request or task and
cleared at its end, so nothing of one request or task shows on the next one's lines. One-time
links, secret-looking query parameters and Authorization values are cut out of every line
(``drop_secrets``), whatever logged them.

Why structlog with this small module rather than django-structlog: django-structlog's request
middleware trusts any incoming X-Request-ID (no length or charset check: a 10 KB header or one with
a newline would go into every line), does not send the id back on the response, reads the user at the
start of the request (a session and a user query on requests that needed neither), and it and its
Celery receivers add lines of their own to every request and task (request_started,
request_finished, task_enqueued, task_started, task_succeeded), duplicating Django's and Celery's
lines and making idle periodic jobs chatty. What it would save us is about the hundred lines below.
"""

import logging
import logging.config
import re
import sys
import uuid
from collections import OrderedDict
from contextvars import ContextVar

import structlog
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished

REQUEST_ID_HEADER = "X-Request-ID"
# What a client or proxy may send as a request id: a uuid, a proxy's trace id (AWS's
# "Root=1-5f84c7a9-..."), nothing that could break a log line or a header.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:=+/-]{8,128}")
# The Celery message header carrying the request's context into the tasks it enqueues.
TASK_CONTEXT_HEADER = "_log_context"
FORMATS = ("console", "json")

# The request being served by this thread or task, so a line can say whose it is once the user is
# known (DRF authenticates inside the view, after every middleware has run).
_current_request: ContextVar = ContextVar("log_current_request", default=None)


# --- Request ids --------------------------------------------------------------------------------


def valid_request_id(value) -> str | None:
    """``value`` if it is a sane request id (8 to 128 characters of letters, digits and ``._:=+/-``),
    else None."""
    if isinstance(value, str) and REQUEST_ID_RE.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The request id bound to this request or task, if any."""
    return structlog.contextvars.get_contextvars().get("request_id")


class RequestContextMiddleware:
    """Binds the request's id (and, through ``add_user_id``, its user) to every line written while it
    is served and answers it in the ``X-Request-ID`` response header.

    The context is cleared when the response is closed (Django's ``request_finished``), not when this
    middleware returns: Django's own line for a 4xx answer and runserver's access line are written
    after the middleware chain, and are about this request too. It is also cleared when the next
    request starts, so nothing of one request ever shows on another's lines."""

    def __init__(self, get_response):
        self.get_response = get_response
        request_finished.connect(clear_request_context, dispatch_uid="config.logs.clear_request_context")

    def __call__(self, request):
        request_id = valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = request_id
        clear_request_context()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        _current_request.set(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def clear_request_context(**kwargs):
    _current_request.set(None)
    structlog.contextvars.clear_contextvars()


# --- Processors ---------------------------------------------------------------------------------


def add_schema(logger, method_name, event_dict):
    """``schema``: the schema this context last put its database connection in (django-tenants;
    tenants/context.py), which async code, with no connection of its own, reads too."""
    if "schema" not in event_dict:
        schema = _connection_schema()
        if schema:
            event_dict["schema"] = schema
    return event_dict


def _connection_schema() -> str | None:
    from django.conf import settings

    if not settings.configured:  # a line written while the settings are being read
        return None
    try:
        from django.db import connection

        from tenants.context import current_schema

        return current_schema() or getattr(connection, "schema_name", None)
    except Exception:  # never let a log line fail on the database's configuration
        return None


def add_user_id(logger, method_name, event_dict):
    """``user_id``: the current request's user, once authenticated; never read from the database
    here (a lazy user nobody has read stays unread)."""
    if "user_id" not in event_dict:
        user_id = _known_user_id(_current_request.get())
        if user_id is not None:
            event_dict["user_id"] = user_id
    return event_dict


def _known_user_id(request):
    if request is None:
        return None
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # django.utils.functional.SimpleLazyObject
    if wrapped is None or type(wrapped) is object:  # ``empty``: not evaluated yet
        return None
    if getattr(wrapped, "is_authenticated", False):
        return wrapped.pk
    return None


def add_celery_task_fields(logger, method_name, event_dict):
    """The task's fields on Celery's own lines about a task ("Task %(name)s[%(id)s] succeeded ...").
    Those are written outside the task's run (its context is cleared already, its schema switched
    back), but they name the task: its id and name, and the context it ran with if it ran here
    lately (``_recent_tasks``)."""
    record = event_dict.get("_record")
    if record is None or not record.name.startswith("celery."):
        return event_dict
    # Celery passes the line's arguments as ``extra={"data": ...}`` too (the record's own args are
    # gone by now: structlog's formatter has rendered the message).
    data = event_dict.get("data")
    if not isinstance(data, dict) or data.get("id") is None:
        return event_dict
    del event_dict["data"]  # the task's arguments and result, already summed up by the message
    task_id = data["id"]
    task_id = str(task_id)
    if event_dict.get("task_id") not in (None, task_id):
        return event_dict  # a line about another task, written inside this one: leave it
    event_dict["task_id"] = task_id
    if "name" in data:
        event_dict.setdefault("task_name", str(data["name"]))
    for key, value in _recent_tasks.get(task_id, {}).items():
        event_dict.setdefault(key, value)
    return event_dict


# task id -> the context its lines carried (request id, user id, schema), for Celery's line written
# after it ran. Bounded: a worker runs millions of tasks.
_recent_tasks: OrderedDict = OrderedDict()
RECENT_TASKS = 256


def _remember_task(task_id, context: dict) -> None:
    _recent_tasks[str(task_id)] = context
    while len(_recent_tasks) > RECENT_TASKS:
        _recent_tasks.popitem(last=False)


def drop_secrets(logger, method_name, event_dict):
    """Cut secrets out of the line, whoever wrote it: a value under a secret-looking key (password,
    token, ...), a one-time link's secret part, a secret-looking query parameter's value, the
    credentials of an Authorization value (Bearer, Token, Basic), in the message, the traceback and
    every field, at any depth. Objects become their repr first, so theirs are cut too."""
    # Django passes the request (an HttpRequest, or runserver's socket) as an ``extra``: its repr
    # repeats the path the message already gives.
    if not isinstance(event_dict.get("request"), (str, type(None))):
        del event_dict["request"]
    for key, value in list(event_dict.items()):
        if not key.startswith("_"):
            event_dict[key] = _scrubbed(key, value)
    return event_dict


def _scrubbed(key, value):
    from config.sentry import FILTERED, SECRET_KEY

    if isinstance(key, str) and SECRET_KEY.search(key):
        return FILTERED
    if isinstance(value, dict):
        return {k: _scrubbed(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(None, v) for v in value]
    if isinstance(value, (bool, int, float, type(None))):
        return value
    return scrub_text(value if isinstance(value, str) else repr(value))


# A credential is long (knox's tokens are 64 characters): "token expired" is prose, left alone.
AUTHORIZATION_VALUE = re.compile(r"\b(Bearer|Token|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)


def scrub_text(text: str) -> str:
    from config.sentry import FILTERED, SECRET_LINK, SECRET_PARAM

    text = SECRET_LINK.sub(lambda m: m.group(1) + FILTERED, text)
    text = SECRET_PARAM.sub(lambda m: m.group(1) + FILTERED, text)
    return AUTHORIZATION_VALUE.sub(lambda m: f"{m.group(1)} {FILTERED}", text)


def _shared_processors() -> list:
    """What every line gets, from structlog's loggers and the standard library's alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_celery_task_fields,
        add_schema,
        add_user_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def renderer(log_format: str):
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    # Plain tracebacks: rich's (structlog's default when rich is installed) shows local variables,
    # which may hold a password or a token.
    return structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
    )


def formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of LOGGING's handler: context, secrets out, then the format's renderer."""
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        final.append(structlog.processors.format_exc_info)  # the traceback as a string, scrubbed next
    final += [drop_secrets, renderer(log_format)]
    return structlog.stdlib.ProcessorFormatter(
        processors=final, foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()]
    )


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting: one handler on the root logger rendering ``log_format``; Django's loggers
    propagate to it instead of keeping handlers of their own (which printed their lines twice)."""
    if log_format not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": formatter, "log_format": log_format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default configuration gives these handlers of their own (plain text, and a
            # second copy of each django.* line under DEBUG); here they go to the root's only.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        },
    }


def configure_structlog() -> None:
    """structlog's own loggers (``structlog.get_logger()``) hand their events to the standard
    library, so they reach the same handler, levels and format as every other line."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# --- Celery -------------------------------------------------------------------------------------

task_logger = logging.getLogger("config.tasks")


def stamp_task_context(headers=None, **kwargs):
    """``before_task_publish``: a task enqueued while a request or task runs carries its request id
    (and user id) in its message headers. The enqueuing is a DEBUG line of the request."""
    if headers is None or TASK_CONTEXT_HEADER in headers:
        return
    context = {}
    request_id = current_request_id()
    if request_id:
        context["request_id"] = request_id
    user_id = structlog.contextvars.get_contextvars().get("user_id")
    if user_id is None:
        user_id = _known_user_id(_current_request.get())
    if user_id is not None:
        context["user_id"] = user_id
    if context:
        headers[TASK_CONTEXT_HEADER] = context
    task_logger.debug(
        "enqueued %s[%s]",
        headers.get("task"),
        headers.get("id"),
        extra={"enqueued_task_id": headers.get("id"), "enqueued_task_name": headers.get("task")},
    )


def bind_task_context(task_id=None, task=None, **kwargs):
    """``task_prerun``: the task's lines carry its id and name, and the request id and user id of
    what enqueued it. Connected after tenant-schemas-celery's schema switch, so the schema is the
    task's already."""
    saved = structlog.contextvars.get_contextvars()
    request = getattr(task, "request", None)
    if getattr(request, "is_eager", False):
        # Run in the caller's thread (``task.apply()``): its context comes back after the task.
        request._log_saved_context = saved
    structlog.contextvars.clear_contextvars()
    context = _task_header(task, TASK_CONTEXT_HEADER)
    if not isinstance(context, dict):
        context = saved if getattr(request, "is_eager", False) else {}
    bound = {"task_id": task_id, "task_name": getattr(task, "name", None)}
    if request_id := valid_request_id(context.get("request_id")):
        bound["request_id"] = request_id
    if isinstance(context.get("user_id"), int):
        bound["user_id"] = context["user_id"]
    structlog.contextvars.bind_contextvars(**bound)
    schema = _connection_schema()
    _remember_task(task_id, {k: v for k, v in {**bound, "schema": schema}.items() if v is not None})
    task_logger.debug("task started")


def clear_task_context(task=None, **kwargs):
    """``task_postrun``: nothing of this task shows on the worker's next lines (an eager task's
    caller gets its own context back)."""
    structlog.contextvars.clear_contextvars()
    saved = getattr(getattr(task, "request", None), "_log_saved_context", None)
    if saved:
        structlog.contextvars.bind_contextvars(**saved)


def _task_header(task, name):
    request = getattr(task, "request", None)
    if request is None:
        return None
    headers = getattr(request, "headers", None) or {}
    if name in headers:
        return headers[name]
    return request.get(name) if hasattr(request, "get") else None


def apply_django_logging(loglevel=None, **kwargs):
    """``setup_logging``: a receiver here tells Celery not to replace the root logger's handlers
    with its own plain-text ones; the worker and beat log through Django's LOGGING, like web. The
    root level is LOG_LEVEL when set, else the process's ``--loglevel``. What a task prints goes to
    the log as Celery would have sent it (``worker_redirect_stdouts``), now with the task's context."""
    from celery import current_app
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if not settings.LOG_LEVEL and loglevel:
        logging.getLogger().setLevel(loglevel)
    if current_app.conf.worker_redirect_stdouts:
        current_app.log.redirect_stdouts(current_app.conf.worker_redirect_stdouts_level)


def connect_celery() -> None:
    """Connect the receivers above (config/celery.py calls this once, after tenant-schemas-celery's
    own receivers are connected)."""
    from celery import signals

    signals.before_task_publish.connect(stamp_task_context, weak=False)
    signals.task_prerun.connect(bind_task_context, weak=False)
    signals.task_postrun.connect(clear_task_context, weak=False)
    signals.setup_logging.connect(apply_django_logging, weak=False)
