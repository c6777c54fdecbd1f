"""How fast the simulated city lets drivers go, by place and hour (pure).

A slow centre at rush hour, faster outskirts at night: the speed a driver would choose
(its cruise speed, ``motion.py``) is multiplied by ``factor(x, y, at)``, and the chance of
a red light at the next intersection by ``stop_factor``. Place is the distance from the
centre (``centrality`` 1 there, fading to 0 past ``centre_radius_m`` twice); hour is the
hour of week in ``zone``:

| hours (local)             | congestion |
|---------------------------|-----------:|
| weekdays 07-09 and 16-18  | 1.0 (rush) |
| weekdays 10-15            | 0.55       |
| weekdays 19-21, weekends 10-20 | 0.35  |
| otherwise (night)         | 0          |

factor = (1 - congestion × (0.2 + 0.5 × centrality)) × (1 + 0.25 × night × (1 - centrality)),
so the centre at rush hour drives at 0.3 of the cruise speed, the outskirts at night at 1.25.
Deterministic: no randomness here; the drivers' own seeded generators do the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo


def congestion(how: int) -> float:
    """How busy the roads are in an hour of week (0 = Monday 00:00), 0..1."""
    day, hour = divmod(how % 168, 24)
    if day < 5:
        if 7 <= hour <= 9 or 16 <= hour <= 18:
            return 1.0
        if 10 <= hour <= 15:
            return 0.55
        if 19 <= hour <= 21:
            return 0.35
        return 0.0
    return 0.35 if 10 <= hour <= 20 else 0.0


@dataclass(frozen=True)
class Traffic:
    centre_radius_m: float = 2500.0
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def centrality(self, x: float, y: float) -> float:
        """1 at the centre, 0.37 at centre_radius_m, about 0 at twice that."""
        return math.exp(-(x * x + y * y) / (self.centre_radius_m * self.centre_radius_m))

    def hour_of_week(self, at: float) -> int:
        local = datetime.fromtimestamp(at, self.zone)
        return local.weekday() * 24 + local.hour

    def factor(self, x: float, y: float, at: float) -> float:
        """Multiplier of the cruise speed at east/north metres (x, y) from the centre."""
        busy = congestion(self.hour_of_week(at))
        c = self.centrality(x, y)
        night = 1.0 if busy == 0 else 0.0
        return (1.0 - busy * (0.2 + 0.5 * c)) * (1.0 + 0.25 * night * (1.0 - c))

    def stop_factor(self, x: float, y: float, at: float) -> float:
        """Multiplier of the chance of a red light: queues at busy lights in a busy centre."""
        return 1.0 + 1.5 * congestion(self.hour_of_week(at)) * self.centrality(x, y)


def city_traffic(radius_m: float) -> Traffic:
    """The simulator's city: its centre is the inner 40% of the area."""
    return Traffic(centre_radius_m=0.4 * radius_m)
