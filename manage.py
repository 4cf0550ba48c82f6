#!/usr/bin/env python
"""Django's command-line utility. Outside production, a missing DATABASE_URL or REDIS_URL starts
the embedded servers first (config/embedded.py), so every command works on a fresh clone."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if os.environ.get("DJANGO_ENV") != "production":
        from config.embedded import ensure_services

        try:
            ensure_services()
        except RuntimeError as exc:
            sys.exit(str(exc))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
