"""What every page module shares."""

from __future__ import annotations

STAFF_ROLES = ("dispatcher", "admin")
