"""How long dispatch keeps looking when nobody is in reach (pure).

A booking with no driver within the last ring does not give up at once: drivers come on
duty, finish rides and drive into reach. It keeps searching for DISPATCH_PATIENCE_S after
its search started, looking again every ``LOOK_AGAIN_S``, and becomes ``no_driver`` only
once that time has passed with still nobody in reach.
"""

from __future__ import annotations

import math

# Nobody in reach: look again this often (the worker's reconcile job also resumes a
# search left without an open offer, every 5 s once it is 10 s old).
LOOK_AGAIN_S = 10.0


def next_look(started: float, now: float, patience_s: float, every_s: float = LOOK_AGAIN_S) -> float | None:
    """When to search again for a booking that found nobody in reach now; None when its
    patience has run out (it gives up now).

    The times fall on a grid of ``every_s`` (and the last one on the deadline), so every
    process that finds nobody for the booking within one step asks for the same deferred
    job: arq drops the repeats by their job id instead of starting one chain of retries
    per caller."""
    deadline = started + patience_s
    if now >= deadline:
        return None
    step = (math.floor(now / every_s) + 1) * every_s
    return min(step, deadline)


def minutes(patience_s: float) -> int:
    """The patience in whole minutes, as a person is told it (rounded up; at least 1 when > 0)."""
    return math.ceil(patience_s / 60) if patience_s > 0 else 0


def keep_looking_phrase(patience_s: float) -> str:
    """ "we'll keep looking for 5 minutes" in the words a rider reads."""
    if patience_s <= 0:
        return "dispatch will not wait for one to come near"
    n = minutes(patience_s)
    return f"dispatch will keep looking for {n} minute{'s' if n != 1 else ''}"
