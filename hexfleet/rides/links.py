"""Tracking links: ``/t/<token>`` opens one booking, nothing else.

The token is the booking id and a per-booking random nonce, signed with SECRET_KEY
(itsdangerous): unguessable and tamper-evident. A new nonce (staff or the booking's rider
asking for a new link) revokes every link made with the old one. A link stays valid until
TRACKING_LINK_TTL_S after the ride ended (completed, cancelled, or no driver found),
checked where it is used, since the end is not known when the link is made.

What a dead link answers: a token that is not ours (tampered, truncated, made up) or names
no booking is unknown (404); one of ours whose nonce was replaced is revoked, and one whose
ride ended longer ago than the TTL is expired (both 410: the link was real, and saying so
tells its holder nothing new, since only we can sign one).
"""

from __future__ import annotations

import secrets
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "hexfleet.tracking-link"
# The booking event that records a new link (and tells the old link's open streams to end).
RENEW_ACTION = "new_tracking_link"


class LinkState(StrEnum):
    LIVE = "live"
    REVOKED = "revoked"
    EXPIRED = "expired"


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


def link_state(nonce: str, current_nonce: str, ended_at: float | None, now: float, ttl_s: float) -> LinkState:
    """Whether a link made with ``nonce`` still opens its booking (pure). A revoked link
    stays revoked whatever the ride does; an expired one lives again if the ride does
    (dispatch restarted on a no_driver booking clears its end)."""
    if nonce != current_nonce:
        return LinkState.REVOKED
    if ended_at is not None and now > ended_at + ttl_s:
        return LinkState.EXPIRED
    return LinkState.LIVE
