"""Changing a driver's duty status: one path for the driver app, the API and the control room."""

from __future__ import annotations

import time

from quart import current_app

from hexfleet.drivers import queries as driver_queries
from streaming.events import encode_status, key_for


async def change_duty(driver_id: int, status: str) -> dict:
    """PostgreSQL (the record), Redis (read APIs and the index agree at once), then an
    event so every web instance's maps hear of it."""
    ext = current_app.extensions
    async with ext["db"].acquire() as conn:
        await driver_queries.set_status(conn, driver_id, status)  # NotFound for unknown drivers
    settings = ext["settings"]
    now = time.time()
    await ext["store"].set_duty(driver_id, status, now - settings.stale_after_s)
    sent = await ext["producer"].send(
        settings.kafka_topic_locations, encode_status(driver_id, status, now), key=key_for(driver_id)
    )
    await sent
    return {"driver_id": driver_id, "status": status}
