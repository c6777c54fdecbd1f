"""Secrets: password hashing, API/device tokens and device ids.

Tokens and device ids are random strings shown once; only their sha256 is stored, which is
enough for random values of 80 bits and more (a slow hash protects low-entropy passwords,
not these).
Passwords use argon2, which is deliberately slow: call ``hash_password`` and
``verify_password`` through ``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
import string

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


# ---------------------------------------------------------------- the SECRET_KEY's strength

MIN_SECRET_KEY_BITS = 256  # 32 random bytes: what signs every session, CSRF token and link
# A key's alphabet: the sizes of the character classes it draws from (whatever is not a
# lowercase or uppercase letter or a digit counts as the 33 printable ASCII others).
_CLASSES = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
)
_OTHER_CLASS = 33
# Fewer distinct characters than this, and the alphabet is taken to be just those characters:
# a random key of 43 or more characters from any class has many more (hex has 16).
FEW_DISTINCT = 8


def _shortest_piece(key: str) -> int:
    """The length of the shortest piece whose repetition spells ``key`` (the key's period,
    from the KMP prefix function), counted only when it repeats at least twice."""
    border = [0] * len(key)
    for i in range(1, len(key)):
        k = border[i - 1]
        while k and key[i] != key[k]:
            k = border[k - 1]
        border[i] = k + (key[i] == key[k])
    period = len(key) - (border[-1] if key else 0)
    return period if period <= len(key) // 2 else len(key)


@functools.lru_cache(maxsize=8)
def secret_key_bits(key: str) -> float:
    """An estimate of a key's entropy in bits, for refusing weak SECRET_KEYs at start-up.

    Length times log2 of the alphabet, where the alphabet is the sum of the character classes
    the key uses (lowercase 26, uppercase 26, digits 10, anything else 33) or, for a key of
    fewer than FEW_DISTINCT distinct characters, just those characters; a key that repeats a
    shorter piece counts that piece once. Generous to random keys on purpose (a tight estimate
    would now and then refuse a fresh 32-byte one), strict with the shapes people type:
    ``aaaa…``, ``abcabc…``, ``changeme``, ``test-secret``.
    """
    piece = key[: _shortest_piece(key)]
    distinct = set(piece)
    if len(distinct) < FEW_DISTINCT:
        alphabet = len(distinct)
    else:
        alphabet = sum(size for chars, size in _CLASSES if distinct & chars)
        alphabet += _OTHER_CLASS if distinct - frozenset().union(*(chars for chars, _ in _CLASSES)) else 0
    return len(piece) * math.log2(alphabet) if alphabet > 1 else 0.0
