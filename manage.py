#!/usr/bin/env python
import os
import sys


def main() -> None:
    # The command line is a developer's tool (DEBUG on unless DJANGO_DEBUG=0); the servers (wsgi, asgi, celery)
    # start from alignment.settings, where DEBUG is off unless asked for.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings_dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
