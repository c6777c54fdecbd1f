"""Every booking transition, allowed or not (pure table)."""

import itertools

import pytest

from hexfleet.rides.states import (
    CUSTOMER_CANCELLABLE,
    TRANSITIONS,
    Action,
    Actor,
    BookingStatus,
    IllegalTransition,
    NotAllowed,
    can_cancel,
    transition,
)

S, A = BookingStatus, Action

ALLOWED = [
    (S.SCHEDULED, A.DISPATCH, Actor.SYSTEM, S.SEARCHING),
    (S.NO_DRIVER, A.DISPATCH, Actor.DISPATCHER, S.SEARCHING),
    (S.SEARCHING, A.OFFER, Actor.SYSTEM, S.OFFERED),
    (S.SEARCHING, A.GIVE_UP, Actor.SYSTEM, S.NO_DRIVER),
    (S.OFFERED, A.DECLINE, Actor.DRIVER, S.SEARCHING),
    (S.OFFERED, A.EXPIRE, Actor.SYSTEM, S.SEARCHING),
    (S.OFFERED, A.ACCEPT, Actor.DRIVER, S.ASSIGNED),
    (S.SEARCHING, A.ASSIGN, Actor.DISPATCHER, S.ASSIGNED),
    (S.NO_DRIVER, A.ASSIGN, Actor.ADMIN, S.ASSIGNED),
    (S.SCHEDULED, A.ASSIGN, Actor.DISPATCHER, S.ASSIGNED),
    (S.ASSIGNED, A.REASSIGN, Actor.DISPATCHER, S.ASSIGNED),
    (S.ARRIVED, A.REASSIGN, Actor.DISPATCHER, S.ASSIGNED),
    (S.ASSIGNED, A.RELEASE, Actor.DRIVER, S.SEARCHING),
    (S.ASSIGNED, A.ARRIVE, Actor.DRIVER, S.ARRIVED),
    (S.ARRIVED, A.START, Actor.DRIVER, S.IN_PROGRESS),
    (S.IN_PROGRESS, A.COMPLETE, Actor.DRIVER, S.COMPLETED),
    (S.IN_PROGRESS, A.COMPLETE, Actor.DISPATCHER, S.COMPLETED),
    (S.SEARCHING, A.CANCEL, Actor.CUSTOMER, S.CANCELLED),
    (S.ARRIVED, A.CANCEL, Actor.CUSTOMER, S.CANCELLED),
    (S.IN_PROGRESS, A.CANCEL, Actor.DISPATCHER, S.CANCELLED),
    (S.SCHEDULED, A.CANCEL, Actor.SYSTEM, S.CANCELLED),
]


@pytest.mark.parametrize(("status", "action", "actor", "after"), ALLOWED)
def test_allowed(status, action, actor, after):
    assert transition(status, action, actor) is after


@pytest.mark.parametrize(
    ("status", "action", "actor"),
    [
        (S.COMPLETED, A.CANCEL, Actor.DISPATCHER),  # over is over
        (S.CANCELLED, A.CANCEL, Actor.CUSTOMER),  # a double cancel
        (S.ASSIGNED, A.ACCEPT, Actor.DRIVER),  # a double accept
        (S.CANCELLED, A.ACCEPT, Actor.DRIVER),  # accept after cancel
        (S.IN_PROGRESS, A.CANCEL, Actor.CUSTOMER),  # riders cannot cancel a ride under way
        (S.SEARCHING, A.START, Actor.DRIVER),
        (S.ASSIGNED, A.COMPLETE, Actor.DRIVER),  # steps cannot be skipped
        (S.COMPLETED, A.ASSIGN, Actor.DISPATCHER),
        (S.IN_PROGRESS, A.REASSIGN, Actor.DISPATCHER),  # a passenger on board stays with the driver
        (S.IN_PROGRESS, A.RELEASE, Actor.DRIVER),
    ],
)
def test_illegal_is_409_naming_the_current_state(status, action, actor):
    with pytest.raises(IllegalTransition) as caught:
        transition(status, action, actor)
    assert caught.value.status == 409
    assert caught.value.extra == {"current_status": str(status)}
    assert status.replace("_", " ") in caught.value.detail


@pytest.mark.parametrize(
    ("action", "actor"),
    [
        (A.ASSIGN, Actor.CUSTOMER),
        (A.ASSIGN, Actor.DRIVER),
        (A.ACCEPT, Actor.DISPATCHER),  # only the offered driver accepts
        (A.OFFER, Actor.DISPATCHER),
        (A.CANCEL, Actor.DRIVER),  # a driver releases the ride instead
        (A.GIVE_UP, Actor.CUSTOMER),
    ],
)
def test_wrong_actor_is_403(action, actor):
    with pytest.raises(NotAllowed):
        transition(S.SEARCHING, action, actor)


def test_every_pair_is_decided_one_way_or_the_other():
    """No (status, action, actor) falls through: each is a new status or a clear refusal."""
    for status, action, actor in itertools.product(BookingStatus, Action, Actor):
        try:
            after = transition(status, action, actor)
        except (IllegalTransition, NotAllowed):
            continue
        assert TRANSITIONS[(status, action)] is after


@pytest.mark.parametrize("status", list(BookingStatus))
def test_customers_cancel_until_the_ride_starts(status):
    assert can_cancel(status, Actor.CUSTOMER) is (status in CUSTOMER_CANCELLABLE)
