"""Pure rules about users."""

from __future__ import annotations

import re

from hexfleet.errors import Invalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    email = email.strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise Invalid(f"not an email address: {email!r}", code="bad-email")
    return email
