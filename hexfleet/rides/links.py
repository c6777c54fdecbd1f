"""Tracking links: ``/t/<token>`` opens one booking, nothing else.

The token is the booking id and a per-booking random nonce, signed with SECRET_KEY
(itsdangerous): unguessable, tamper-evident, and revocable by changing the nonce. It
stays valid until TRACKING_LINK_TTL_S after the ride ended (checked where it is used,
since the end is not known when the link is made).
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "hexfleet.tracking-link"


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def make_token(secret_key: str, booking_id: int, nonce: str) -> str:
    return URLSafeSerializer(secret_key, salt=SALT).dumps([booking_id, nonce])


def read_token(secret_key: str, token: str) -> tuple[int, str] | None:
    """(booking id, nonce), or None for anything tampered, truncated or not ours."""
    if not token or len(token) > 200:
        return None
    try:
        value = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or isinstance(value[0], bool)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]
