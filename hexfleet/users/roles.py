"""Who an account is: its role, spelled once.

``Role`` is a ``StrEnum``: a role read from the database as a plain string compares equal to
its member, and templates compare ``user.role`` with the same names. The tuples hold the
plain values (argparse and error messages show them as written).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    CUSTOMER = "customer"


# Every role an account may have (the users.role CHECK constraint lists the same).
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
# Staff: the control room, dispatch, history; admins also manage the fleet and accounts.
STAFF: tuple[str, ...] = (Role.DISPATCHER.value, Role.ADMIN.value)
# Who may book and follow rides: riders (customers) and staff booking for them.
RIDERS: tuple[str, ...] = (Role.CUSTOMER.value, *STAFF)
