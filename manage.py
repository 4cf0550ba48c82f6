#!/usr/bin/env python
"""Django's command-line utility. Outside production, a command that needs PostgreSQL or Redis
while DATABASE_URL or REDIS_URL is unset starts the embedded servers first (config/embedded.py), so
every command works on a fresh clone; help and commands that need neither start nothing."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if os.environ.get("DJANGO_ENV") != "production":
        from config import embedded

        if embedded.command_needs_services(sys.argv[1:]):
            try:
                embedded.ensure_services("dev")
            except RuntimeError as exc:
                sys.exit(str(exc))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
