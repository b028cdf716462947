"""`makemessages` that also reads `_l(...)`: the project imports gettext_lazy as `_l` where `_` is gettext, and
xgettext only knows Django's own names, so those strings were silently left out of the catalogue."""

from django.core.management.commands.makemessages import Command as MakeMessagesCommand


class Command(MakeMessagesCommand):
    xgettext_options = [*MakeMessagesCommand.xgettext_options, "--keyword=_l"]
