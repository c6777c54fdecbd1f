"""The ends of a ride as a rider reads them: a name ("Alexanderplatz, 60 m"), with the coordinates
a tap or a hover away (templates/_rider_place.html).

A booking keeps the name the rider chose, or the nearest place the server found when it was
quoted. A ride without one (booked before its places were listed, or far from any) is named now,
from the places this process keeps in memory (and the geocoder's cached reverse answer when
GEOCODER_URL is set); failing that, its coordinates are all there is to show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hexfleet.rides import queries as q

Point = tuple[float, float]


@dataclass(frozen=True)
class Where:
    """One end of a ride: its name when it has one, and its coordinates."""

    label: str | None
    lat: float
    lng: float

    @property
    def coords(self) -> str:
        return f"{self.lat:.5f}, {self.lng:.5f}"

    @property
    def text(self) -> str:
        return self.label or self.coords


def ends(booking: q.Booking) -> tuple[Where, Where]:
    """The booking's (pickup, dropoff) with the names it keeps (None where it has none)."""
    return (
        Where(booking.pickup_label, booking.pickup_lat, booking.pickup_lng),
        Where(booking.dropoff_label, booking.dropoff_lat, booking.dropoff_lng),
    )


async def named_ends(
    found: Sequence[q.Booking], label_points: Callable[[list[Point]], Awaitable[list]]
) -> dict[int, tuple[Where, Where]]:
    """Each booking's (pickup, dropoff), the unnamed ends named now by ``label_points``
    (webapp.services.label_points: one call for the whole list; it never raises)."""
    named = {b.id: ends(b) for b in found}
    missing = [(b.id, i) for b in found for i, end in enumerate(named[b.id]) if end.label is None]
    if not missing:
        return named
    points = [(named[bid][i].lat, named[bid][i].lng) for bid, i in missing]
    labels = await label_points(points)
    for (bid, i), label in zip(missing, labels, strict=True):
        if label is None:
            continue
        pair = list(named[bid])
        pair[i] = Where(label.text, pair[i].lat, pair[i].lng)
        named[bid] = (pair[0], pair[1])
    return named
