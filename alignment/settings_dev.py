"""Development and test settings: the production settings with DEBUG on unless the environment says otherwise.

`alignment.settings` defaults to DEBUG off, so a deploy that forgets its environment refuses to start with the
public development key instead of serving debug pages. pytest (pyproject's DJANGO_SETTINGS_MODULE) and `make run`
work from here; subprocesses they start inherit DJANGO_DEBUG=1.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from alignment.settings import *  # noqa: F403
