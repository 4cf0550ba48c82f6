"""Typed readers for environment variables: the single source of truth for settings.

A reader with ``required=True`` has no default, so a production process with a missing secret
stops at boot with a message naming the variable instead of running with a placeholder.

Every reader also takes its value from a file: ``<NAME>_FILE=/run/secrets/name`` reads the file
(one trailing newline dropped), which is how Docker and Kubernetes secrets reach a process without
passing through its environment, where ``/proc/<pid>/environ``, ``docker inspect`` and crash
reports would show them. Setting both ``NAME`` and ``NAME_FILE``, or naming a file that cannot be
read, stops the process at boot with a message naming the variable.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _lookup(name: str) -> str | None:
    """The value of ``name`` from the environment, or from the file ``<name>_FILE`` names."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return value
    if value:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    try:
        with open(path, encoding="utf-8") as file:
            content = file.read()
    except (OSError, UnicodeDecodeError) as error:
        # The class and the path, never the content; the reason (missing, not allowed) from the OS.
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {reason}.") from None
    # Editors and `echo` end the file with a newline, which is not part of the secret.
    return content.removesuffix("\n").removesuffix("\r")


def _raw(name: str, default: str | None, required: bool) -> str | None:
    value = _lookup(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"The environment variable {name} must be set in production.")
        return default
    return value


def env_str(name: str, default: str = "", *, required: bool = False) -> str:
    return _raw(name, default, required)


def env_bool(name: str, default: bool = False) -> bool:
    value = _lookup(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int) -> int:
    value = _lookup(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def env_list(name: str, default: list[str] | None = None, *, required: bool = False) -> list[str]:
    value = _raw(name, None, required)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]
