"""The README's by-hand signature check is true: it accepts what the site signs and refuses a tampered body, another
secret, or an old timestamp (a newcomer copies it into their receiver)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from alignment.channels import signed

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="


def readme_verify():
    text = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    block = next(code for code in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify(" in code)
    namespace: dict = {}
    exec(block, namespace)  # our own README
    return namespace["verify"]


def test_the_readme_verifier_accepts_our_signature_and_refuses_tampering():
    verify = readme_verify()
    # given a message signed as the outbox signs it
    body, headers = signed(SECRET, "lead.mql:1:2026-12-01T09:00:00+00:00:webhook:1", {"type": "lead.mql"})
    # then the README's check accepts it
    verify(SECRET, headers, body)
    # and refuses a changed body, another secret, and an old timestamp
    with pytest.raises(ValueError, match="bad signature"):
        verify(SECRET, headers, body.replace(b"mql", b"sql"))
    with pytest.raises(ValueError, match="bad signature"):
        verify("whsec_" + "b3RoZXItc2VjcmV0LTAxMjM0NTY3ODk=", headers, body)
    with pytest.raises(ValueError, match="too old"):
        verify(SECRET, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 3600)}, body)
