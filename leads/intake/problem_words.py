"""What was set aside on the way in, in the reader's language.

`leads.intake.segment`, `leads.normalise` and `leads.textformats` are pure and write English; data problems and
job failures are stored as that English. These phrasebooks say them again for the person reading (the
data-problems page, the API's answers under Accept-Language, the import pages); anything else reads as stored.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext

from alignment.phrasebook import Phrasebook

VALUES = Phrasebook([
    gettext_noop("“%(value)s” is not a number (its digit groups are uneven)."),
    gettext_noop("“%(value)s” is not a number."),
    gettext_noop("“%(value)s” is not a date that exists."),
    gettext_noop("“%(value)s” is not a date."),
    gettext_noop("“%(value)s” is not a whole number of employees"),
    gettext_noop("“%(value)s” is not a number of employees"),
    gettext_noop("not a number of employees"),
    gettext_noop("cannot be negative"),
])  # fmt: skip

FIELDS = Phrasebook([
    *VALUES,
    gettext_noop("must be a JSON object"),
    gettext_noop("is %(size)s bytes; the limit is %(limit)s bytes per message"),
    gettext_noop("must be “%(type)s” on /v1/%(endpoint)s (got %(got)s)"),
    gettext_noop("%(value)s is not a Segment message type (%(types)s)"),
    gettext_noop("required (%(types)s)"),
    gettext_noop("required for alias"),
    gettext_noop("required for track"),
    gettext_noop("userId or anonymousId is required"),
    gettext_noop("must be a string or a number"),
    gettext_noop("must be a string"),
    gettext_noop("%(value)s has no letters or digits to name an activity"),
    gettext_noop("the name holds a NUL byte or an invalid character"),
    gettext_noop("is not a number that can be stored (NaN, Infinity or too many digits)"),
    gettext_noop("is not a finite number"),
    gettext_noop("must be a finite number"),
    gettext_noop("holds a NUL byte or an invalid character (a lone surrogate)"),
    gettext_noop("is %(length)s characters; at most %(limit)s"),
    gettext_noop("must be an object"),
    gettext_noop("must be an ISO-8601 date-time string"),
    gettext_noop("%(value)s is not an ISO-8601 date-time"),
    gettext_noop("%(value)s has a UTC offset beyond ±14:00"),
    gettext_noop("%(value)s is out of range"),
    gettext_noop("is not a plausible time (before 2000 or in the future): the time of receipt is used"),
    gettext_noop("%(value)s is not a valid e-mail address"),
    gettext_noop("%(number)s is not a plausible number of employees"),
    gettext_noop("must be text"),
])  # fmt: skip

REQUESTS = Phrasebook([
    gettext_noop("request body is %(size)s bytes; the limit is %(limit)s bytes"),
    gettext_noop("Content-Encoding “%(encoding)s” is not supported: send the body as is or gzip-compressed"),
    gettext_noop("request body is not valid gzip: the compressed stream is truncated"),
    gettext_noop("request body is not valid gzip: %(error)s"),
    gettext_noop("request body is over %(size)s bytes once decompressed; the limit is %(limit)s bytes"),
    gettext_noop("request body is empty: send a JSON object"),
    gettext_noop("request body is not UTF-8 text"),
    gettext_noop("request body is not valid JSON: %(error)s at line %(line)s column %(column)s"),
    gettext_noop("request body is nested too deeply"),
    gettext_noop("request body must be a JSON object with a “batch” array"),
    gettext_noop("request body must be a JSON object"),
    gettext_noop("batch: required (an array of messages)"),
    gettext_noop("batch: must be an array of messages"),
])  # fmt: skip

JOBS = Phrasebook([
    gettext_noop("Stopped after %(rows)s rows: %(error)s"),
    gettext_noop("Stopped %(attempts)s times on a database error; last: %(error)s"),
    gettext_noop("Paused on a database error, will resume: %(error)s"),
    gettext_noop("The worker running it stopped answering %(attempts)s times (no heartbeat for %(seconds)s s); it was not "
      "resumed again."),
    gettext_noop("Could not be saved: %(message)s"),
])  # fmt: skip


def problem_words(problem: str) -> str:
    """A field's problem (as `segment.Problem.problem` or `DataProblem.problem` hold it)."""
    return FIELDS.say(problem)


def message_words(text: str) -> str:
    """A whole message: a request's problem, or "path: problem" as the API lists what it set aside."""
    if REQUESTS.knows(text):
        return REQUESTS.say(text)
    path, sep, problem = text.partition(": ")
    if sep and " " not in path and FIELDS.knows(problem):
        return f"{path}: {FIELDS.say(problem)}"
    return FIELDS.say(text)


def errors_words(errors: list[str]) -> str:
    """The first of a refused request's errors, and how many more there are."""
    first = message_words(errors[0])
    more = len(errors) - 1
    if not more:
        return first
    return first + ngettext(" (and %(count)s more error)", " (and %(count)s more errors)", more) % {
        "count": more
    }


def failure_words(failure: str) -> str:
    """Why a job stopped (stored in English by whichever worker noticed)."""
    return JOBS.say(failure)
