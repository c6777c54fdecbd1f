"""Who rides (pure): the passenger's name and a phone number the driver can call."""

from __future__ import annotations

import re

from hexfleet.errors import Invalid

_PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]+$")


def normalise_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200 or "\x00" in name:
        raise Invalid("passenger.name must be 1 to 200 characters", code="bad-passenger-name")
    return name


def normalise_phone(phone: str) -> str:
    """Digits, an optional leading +, and the usual separators; 6 to 15 digits (E.164's maximum)."""
    phone = phone.strip()
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE_CHARS.match(phone) or not 6 <= digits <= 15 or len(phone) > 32:
        raise Invalid(f"passenger.phone is not a phone number: {phone[:40]!r}", code="bad-passenger-phone")
    return phone


def normalise_notes(notes: str | None) -> str | None:
    if notes is None:
        return None
    notes = notes.strip()
    if len(notes) > 1000 or "\x00" in notes:
        raise Invalid("notes must be at most 1000 characters", code="bad-notes")
    return notes or None


def first_name(name: str) -> str:
    """What a tracking link shows of the passenger: the first word of the name only (whoever
    holds the link may be anyone the rider forwarded it to)."""
    words = name.split()
    return words[0] if words else ""
