"""Point-in-zone speed: `python -m hexfleet.devtools.bench.zones`.

Covers 200 zones around a city centre (one city-sized outline of 400 vertices with a park cut
out, circles of 60 m to 4 km, multipolygons, star-shaped polygons of 5 to 80 vertices: bays and
capes at every scale), then times ``ZoneIndex.zones_at`` over random fixes: spread over the area,
and right on the zones' boundaries (where the exact test runs). Also the time to cover them
(each process does it at start and after each change, in a thread) and, for comparison, the
exact test of every zone without the cover. The target: under 20 µs a fix. Prints a table,
then one JSON line.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time

import orjson

from hexfleet.zones.cover import CoveredZone, ZoneHit, ZoneIndex
from hexfleet.zones.geometry import Shape, parse

CENTRE = (52.52, 13.40)
TARGET_US = 20.0


def _star(rng: random.Random, lat: float, lng: float, size: float, points: int) -> list[list[float]]:
    """A star-shaped ring (never self-intersecting): bays and capes at every scale."""
    ring = []
    for i in range(points):
        angle = 2 * math.pi * i / points
        r = size * (0.5 + 0.5 * rng.random())
        ring.append([lng + 1.6 * r * math.cos(angle), lat + r * math.sin(angle)])
    return [*ring, ring[0]]


def city_zones(count: int = 200, seed: int = 18) -> list[Shape]:
    """``count`` zones of every kind of shape around CENTRE (the same ones for a seed)."""
    rng = random.Random(seed)
    lat, lng = CENTRE
    city = _star(rng, lat, lng, 0.15, 400)
    park = _star(rng, lat, lng, 0.02, 30)[::-1]
    shapes = [parse({"type": "Polygon", "coordinates": [city, park]})]
    while len(shapes) < count:
        zlat, zlng = lat + rng.uniform(-0.2, 0.2), lng + rng.uniform(-0.3, 0.3)
        kind = len(shapes) % 4
        if kind == 0:
            shapes.append(parse({"type": "Circle", "center": [zlng, zlat], "radius_m": rng.uniform(60, 4000)}))
        elif kind == 1:
            a = _star(rng, zlat, zlng, 0.004, 12)
            b = _star(rng, zlat + 0.02, zlng + 0.03, 0.003, 9)
            shapes.append(parse({"type": "MultiPolygon", "coordinates": [[a], [b]]}))
        else:
            ring = _star(rng, zlat, zlng, rng.uniform(0.001, 0.03), rng.randint(5, 80))
            shapes.append(parse({"type": "Polygon", "coordinates": [ring]}))
    return shapes


def index_of(shapes: list[Shape]) -> ZoneIndex:
    return ZoneIndex(
        CoveredZone(ZoneHit(i + 1, f"zone {i + 1}", "custom", "#000000", None), shape) for i, shape in enumerate(shapes)
    )


def _per_call_us(index: ZoneIndex, points: list[tuple[float, float]], rounds: int = 5) -> float:
    best = math.inf
    zones_at = index.zones_at
    for _ in range(rounds):
        began = time.perf_counter()
        for lat, lng in points:
            zones_at(lat, lng)
        best = min(best, time.perf_counter() - began)
    return best / len(points) * 1e6


def run(count: int, fixes: int, seed: int) -> dict:
    shapes = city_zones(count, seed)
    began = time.perf_counter()
    index = index_of(shapes)
    build_s = time.perf_counter() - began
    rng = random.Random(seed)
    spread = [(CENTRE[0] + rng.uniform(-0.25, 0.25), CENTRE[1] + rng.uniform(-0.4, 0.4)) for _ in range(fixes)]
    edges = []
    for _ in range(fixes):
        shape = rng.choice(shapes)
        x, y = rng.choice(list(shape.area.exterior.coords if shape.area.geom_type == "Polygon" else
                                shape.area.geoms[0].exterior.coords))  # fmt: skip
        edges.append((y + rng.gauss(0, 0.00005), x + rng.gauss(0, 0.00005)))
    hits = sum(len(index.zones_at(lat, lng)) for lat, lng in spread)
    exact_began = time.perf_counter()
    sample = spread[:500]
    for lat, lng in sample:
        [s for s in shapes if s.covers(lat, lng)]
    exact_us = (time.perf_counter() - exact_began) / len(sample) * 1e6
    return {
        "zones": count,
        "fixes": fixes,
        "build_s": round(build_s, 2),
        "inner_cells": index.stats.inner_cells,
        "boundary_cells": index.stats.boundary_cells,
        "spread_us": round(_per_call_us(index, spread), 2),
        "boundary_us": round(_per_call_us(index, edges), 2),
        "zones_per_fix": round(hits / fixes, 2),
        "exact_every_zone_us": round(exact_us, 1),
        "target_us": TARGET_US,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hexfleet.devtools.bench.zones", description=__doc__.split("\n")[0])
    parser.add_argument("--zones", type=int, default=200)
    parser.add_argument("--fixes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    r = run(args.zones, args.fixes, args.seed)
    print(f"{r['zones']} zones covered in {r['build_s']} s: {r['inner_cells']} inner cells, "
          f"{r['boundary_cells']} boundary cells (resolution 9)")  # fmt: skip
    print(f"zones_at, fixes spread over the city:  {r['spread_us']:6.2f} µs a fix ({r['zones_per_fix']} zones each)")
    print(f"zones_at, fixes on zone boundaries:    {r['boundary_us']:6.2f} µs a fix")
    print(f"exact test of every zone, no cover:    {r['exact_every_zone_us']:6.1f} µs a fix")
    worst = max(r["spread_us"], r["boundary_us"])
    print(f"target under {TARGET_US:g} µs: {'met' if worst < TARGET_US else 'MISSED'}")
    print(orjson.dumps(r).decode())
    return 0 if worst < TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
