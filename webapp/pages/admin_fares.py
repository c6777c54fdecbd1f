"""Fares for admins (/admin/fares): per vehicle class the base, per km, per minute, booking
fee, minimum and currency, typed in the currency's units and checked per field; what the fare
makes of a sample trip, priced by the real fare function while the admin types (htmx); every
change in the audit log, as the API and the command line write it.
"""

from __future__ import annotations

import logging

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet import audit
from hexfleet.drivers import vehicles
from hexfleet.errors import NotFound
from hexfleet.rides import fare_form, fares
from hexfleet.rides import queries as q
from hexfleet.rides.money import EXPONENTS, format_major
from hexfleet.users.roles import Role
from webapp.auth import current_user, page_role_required
from webapp.pages.admin import NO_STORE, acting_admin
from webapp.services import services

bp = Blueprint("admin_fares", __name__)
log = logging.getLogger("hexfleet.web")

CURRENCIES = sorted(EXPONENTS)


def _known(vehicle_class: str) -> str:
    if vehicle_class not in fares.VEHICLE_CLASSES:
        raise NotFound(
            f"no vehicle class {vehicle_class[:40]!r}; classes: {', '.join(fares.VEHICLE_CLASSES)}",
            code="unknown-vehicle-class",
        )
    return vehicle_class


async def _stored(vehicle_class: str) -> fares.Fare | None:
    pool = services().db
    async with pool.acquire() as conn:
        return await q.get_fare(conn, vehicle_class)


def _typed() -> dict[str, str]:
    return {name: (request.args.get(name) or "")[: fare_form.MAX_TEXT] for name in fare_form.FIELDS}


async def _card(vehicle_class: str, stored: fares.Fare | None, values: dict[str, str], errors: dict[str, str],
                message: str | None = None) -> str:  # fmt: skip
    typed, _ = fare_form.parse(vehicle_class, values)
    return await render_template(
        "_admin_fare_card.html",
        vehicle_class=vehicle_class,
        name=vehicles.LABELS[vehicle_class],
        values=values,
        errors=errors,
        message=message,
        **_sample_context(stored, typed),
    )


def _sample_context(stored: fares.Fare | None, typed: fares.Fare | None) -> dict:
    return {
        "sample": fare_form.sample(typed) if typed else None,
        "saved_sample": fare_form.sample(stored) if stored else None,
        "typed": typed,
        "stored": stored,
        "major": format_major,
        "distance_km": fare_form.SAMPLE_DISTANCE_M / 1000,
        "duration_min": fare_form.SAMPLE_DURATION_S // 60,
    }


@bp.get("/admin/fares")
@hide
@page_role_required(Role.ADMIN)
async def fares_page():
    pool = services().db
    async with pool.acquire() as conn:
        stored = {f.vehicle_class: f for f in await q.list_fares(conn)}
    cards = [await _card(c, stored.get(c), fare_form.form_values(stored.get(c)), {}) for c in fares.VEHICLE_CLASSES]
    html = await render_template("admin_fares.html", user=await current_user(), cards=cards, currencies=CURRENCIES)
    return html, 200, NO_STORE


@bp.post("/admin/fares/<vehicle_class>")
@hide
@page_role_required(Role.ADMIN)
async def save_fare(vehicle_class: str):
    """Save one class's fare; answers with its card (the fields marked, or "Saved")."""
    _known(vehicle_class)
    form = await request.form
    values = {name: (form.get(name) or "")[: fare_form.MAX_TEXT] for name in fare_form.FIELDS}
    fare, errors = fare_form.parse(vehicle_class, values)
    if fare is None:
        return await _card(vehicle_class, await _stored(vehicle_class), values, errors), 400, NO_STORE
    pool = services().db
    actor = await acting_admin()
    async with pool.acquire() as conn, conn.transaction():
        before = await q.get_fare(conn, vehicle_class)
        if before == fare:
            saved, message = before, "No change: this is the fare already."
        else:
            saved = await q.put_fare(conn, fare, actor.user_id)
            changed = fare_form.changes(before, saved)
            await audit.record(conn, actor, audit.Action.FARE_SET, "fare", None, vehicle_class, changed)
            message = "Saved: new quotes use it at once (quotes already given keep their price)."
    log.info("admin set the %s fare", vehicle_class)
    return await _card(vehicle_class, saved, fare_form.form_values(saved), {}, message), 200, NO_STORE


@bp.get("/admin/fares/<vehicle_class>/preview")
@hide
@page_role_required(Role.ADMIN)
async def preview(vehicle_class: str):
    """The sample trip priced with the fare as typed (the form's fields in the query string)."""
    _known(vehicle_class)
    values = _typed()
    typed, errors = fare_form.parse(vehicle_class, values)
    html = await render_template(
        "_admin_fare_sample.html",
        vehicle_class=vehicle_class,
        errors=errors,
        **_sample_context(await _stored(vehicle_class), typed),
    )
    return html, 200, NO_STORE
