"""Secrets: password hashing, API/device tokens and device ids.

Tokens and device ids are random strings shown once; only their sha256 is stored, which is
enough for random values of 80 bits and more (a slow hash protects low-entropy passwords,
not these).
Passwords use argon2, which is deliberately slow: call ``hash_password`` and
``verify_password`` through ``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

USER_TOKEN_PREFIX = "hfu_"
DRIVER_TOKEN_PREFIX = "hfd_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_user_token() -> str:
    return USER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_driver_token() -> str:
    return DRIVER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_device_id() -> str:
    # Typed into phone apps by hand, so lowercase hex; 80 random bits because the
    # OsmAnd protocol identifies a device by this id alone.
    return secrets.token_hex(10)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def device_id_hash(device_id: str) -> bytes:
    """What the database keeps of an OsmAnd device id: it is the phone's only credential.
    The same as migration 008's ``sha256(convert_to(device_id, 'UTF8'))``."""
    return token_hash(device_id)


def device_id_hint(device_id: str) -> str | None:
    """The last 4 characters of a device id, kept to tell phones apart (the id ends so in
    Traccar Client's settings). 16 of its 80 bits: the other 64 stay unguessable. None for
    ids too short to give any away."""
    return device_id[-4:] if len(device_id) > 8 else None
