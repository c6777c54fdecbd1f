"""Secrets: password hashing, API/device tokens and device ids.

Tokens are long random strings shown once; only their sha256 is stored, which is enough
for 256-bit random values (a slow hash protects low-entropy passwords, not these).
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
