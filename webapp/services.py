"""The core's workflows, bound to this web process's pool, live store and publisher.

Workflows in ``hexfleet`` take what they touch as arguments (so the worker and the tests
call the same code); views call them through here instead of reaching into
``app.extensions`` themselves.
"""

from __future__ import annotations

from quart import current_app

from hexfleet.drivers import duty


async def change_duty(driver_id: int, status: duty.DutyStatus) -> dict:
    ext = current_app.extensions
    return await duty.change_duty(
        ext["db"], ext["store"], ext["publisher"], driver_id, status, ext["settings"].stale_after_s
    )
