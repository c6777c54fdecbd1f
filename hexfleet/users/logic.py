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


# ---------------------------------------------------------------- API tokens

DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365  # a year: long enough for an integration, short enough to be renewed on purpose
MAX_LIVE_TOKENS = 20  # per user: enough for every script one has, a bound on what one account can mint
MAX_TOKEN_LABEL = 60


def token_days(days: int) -> int:
    """How long a new API token lives, in whole days (1 to MAX_TOKEN_DAYS); Invalid otherwise."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid(f"an API token lives 1 to {MAX_TOKEN_DAYS} days, not {days!r}", code="bad-token-days")
    return days


def token_label(label: str) -> str:
    """A token's name as its owner gave it: one line, printable, at most MAX_TOKEN_LABEL characters."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in label).split())
    if len(cleaned) > MAX_TOKEN_LABEL:
        raise Invalid(f"a token's name has at most {MAX_TOKEN_LABEL} characters", code="bad-token-label")
    return cleaned


def token_hint(token: str) -> str:
    """What identifies a token to its owner without giving it away: its last four characters
    (24 of its 256 random bits)."""
    return token[-4:]
