"""Booking states and the one function that decides every change (pure).

    scheduled ─dispatch─▶ searching ─offer─▶ offered ─accept─▶ assigned ─arrive─▶ arrived ─start─▶ in_progress
                            ▲  │              │                   │  ▲               │                  │
                            │  └─give_up─▶ no_driver              │  └──reassign─────┘              complete
                            └──declined / expired / released──────┘                                    ▼
    any state before completed ─cancel─▶ cancelled                                                 completed

    A dispatcher may also assign a driver directly (scheduled, searching, offered, no_driver
    → assigned) and restart dispatch (no_driver → searching).

``transition(status, action, actor)`` returns the next status or raises
``IllegalTransition`` (a 409 naming the current state); every change is then stored with
its time and actor (the booking events table).
"""

from __future__ import annotations

from enum import StrEnum

from hexfleet.errors import Conflict, DomainError


class BookingStatus(StrEnum):
    SCHEDULED = "scheduled"
    SEARCHING = "searching"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_DRIVER = "no_driver"


class OfferStatus(StrEnum):
    """An offer to one driver (offers.status). SQL that must match the partial indexes on
    pending offers spells 'pending' itself (a parameter would not use them)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # a dispatcher picked another driver, or the booking ended


class Action(StrEnum):
    DISPATCH = "dispatch"  # start (or restart) automatic dispatch
    OFFER = "offer"
    DECLINE = "decline"  # the offered driver said no
    EXPIRE = "expire"  # the offer timed out
    ACCEPT = "accept"
    ASSIGN = "assign"  # a dispatcher picks the driver
    REASSIGN = "reassign"  # a dispatcher swaps the assigned driver
    RELEASE = "release"  # the assigned driver gives the ride back: it looks for another driver
    ARRIVE = "arrive"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    GIVE_UP = "give_up"  # no driver within the last ring


class Actor(StrEnum):
    CUSTOMER = "customer"
    DRIVER = "driver"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"
    SYSTEM = "system"


S, A = BookingStatus, Action
STAFF = frozenset({Actor.DISPATCHER, Actor.ADMIN})

# (from, action) → to
TRANSITIONS: dict[tuple[BookingStatus, Action], BookingStatus] = {
    (S.SCHEDULED, A.DISPATCH): S.SEARCHING,
    (S.NO_DRIVER, A.DISPATCH): S.SEARCHING,
    (S.SEARCHING, A.OFFER): S.OFFERED,
    (S.SEARCHING, A.GIVE_UP): S.NO_DRIVER,
    (S.OFFERED, A.DECLINE): S.SEARCHING,
    (S.OFFERED, A.EXPIRE): S.SEARCHING,
    (S.OFFERED, A.ACCEPT): S.ASSIGNED,
    (S.SCHEDULED, A.ASSIGN): S.ASSIGNED,
    (S.SEARCHING, A.ASSIGN): S.ASSIGNED,
    (S.OFFERED, A.ASSIGN): S.ASSIGNED,
    (S.NO_DRIVER, A.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.REASSIGN): S.ASSIGNED,
    (S.ARRIVED, A.REASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.RELEASE): S.SEARCHING,
    (S.ARRIVED, A.RELEASE): S.SEARCHING,
    (S.ASSIGNED, A.ARRIVE): S.ARRIVED,
    (S.ARRIVED, A.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.COMPLETE): S.COMPLETED,
    **{(s, A.CANCEL): S.CANCELLED for s in BookingStatus if s not in (S.COMPLETED, S.CANCELLED)},
}

# Who may ask for each action (the system runs dispatch, offers and timeouts).
ACTORS: dict[Action, frozenset[Actor]] = {
    A.DISPATCH: frozenset({Actor.SYSTEM}) | STAFF,
    A.OFFER: frozenset({Actor.SYSTEM}),
    A.GIVE_UP: frozenset({Actor.SYSTEM}),
    A.EXPIRE: frozenset({Actor.SYSTEM}),
    A.DECLINE: frozenset({Actor.DRIVER}),
    A.ACCEPT: frozenset({Actor.DRIVER}),
    A.ASSIGN: STAFF,
    A.REASSIGN: STAFF,
    A.RELEASE: frozenset({Actor.DRIVER}),
    A.ARRIVE: frozenset({Actor.DRIVER}) | STAFF,
    A.START: frozenset({Actor.DRIVER}) | STAFF,
    A.COMPLETE: frozenset({Actor.DRIVER}) | STAFF,
    A.CANCEL: frozenset({Actor.CUSTOMER, Actor.SYSTEM}) | STAFF,
}

# A customer may cancel until the ride has started; staff at any point before it ends.
CUSTOMER_CANCELLABLE = frozenset({S.SCHEDULED, S.SEARCHING, S.OFFERED, S.ASSIGNED, S.ARRIVED, S.NO_DRIVER})
# A driver holds the ride (one at a time, enforced by a partial unique index).
ACTIVE = frozenset({S.ASSIGNED, S.ARRIVED, S.IN_PROGRESS})
# Waiting for a driver: what the dispatcher's queue and the surge demand count.
OPEN = frozenset({S.SEARCHING, S.OFFERED, S.NO_DRIVER})
ENDED = frozenset({S.COMPLETED, S.CANCELLED})
# The ride is over, for now: the booking has an end time, and its tracking link expires
# TRACKING_LINK_TTL_S after it. no_driver may come back to life (a dispatcher restarts
# dispatch or assigns by hand), which clears the end time.
TERMINAL = ENDED | {S.NO_DRIVER}


class IllegalTransition(Conflict):
    code = "illegal-transition"

    def __init__(self, status: BookingStatus, action: Action) -> None:
        super().__init__(f"cannot {action.replace('_', ' ')} a booking that is {status.replace('_', ' ')}")
        self.current = status
        self.action = action
        self.extra = {"current_status": str(status)}


class NotAllowed(DomainError):
    status = 403
    code = "not-allowed"


def transition(status: BookingStatus, action: Action, actor: Actor) -> BookingStatus:
    """The status after ``action`` by ``actor``; IllegalTransition (409) or NotAllowed (403)."""
    if actor not in ACTORS[action]:
        raise NotAllowed(f"a {actor} cannot {action.replace('_', ' ')} a booking")
    if action is A.CANCEL and actor is Actor.CUSTOMER and status not in CUSTOMER_CANCELLABLE:
        raise IllegalTransition(status, action)
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


def can_cancel(status: BookingStatus, actor: Actor) -> bool:
    try:
        transition(status, A.CANCEL, actor)
    except DomainError:
        return False
    return True
