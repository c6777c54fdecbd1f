"""JSON API: the alerts desk, for dispatchers and admins (and their API tokens). Riders and
drivers get 404, as for analytics: the desk is not there for them.

- ``GET /alerts?state=open|acknowledged|resolved``: the alerts, most urgent and newest first;
- ``POST /alerts/{id}/acknowledge``: a dispatcher has seen it, with an optional note (audited).

The same alerts arrive live as ``alert`` events on the staff stream (/api/v1/stream/bookings).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import document_response, tag, validate_querystring, validate_request

from hexfleet import audit
from hexfleet.alerts import desk
from hexfleet.alerts import queries as q
from hexfleet.alerts.rules import State
from hexfleet.errors import Invalid
from hexfleet.users.roles import STAFF
from webapp.auth import require_hidden, role_required
from webapp.limits import limiter
from webapp.problems import Problem
from webapp.services import services

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1/alerts")
NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_LIMIT = 100
UNRESOLVED = (State.OPEN, State.ACKNOWLEDGED)


class AlertsQuery(BaseModel):
    state: str | None = Field(
        default=None,
        max_length=100,
        description="open, acknowledged or resolved (comma-separated for several); default: open,acknowledged",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=q.MAX_LIST)


class Subject(BaseModel):
    kind: str = Field(description="booking or driver")
    id: int


class AlertOut(BaseModel):
    id: int
    rule: str = Field(description="unassigned, stale_fix, eta_growing, not_moving, no_driver_soon or restricted_wait")
    label: str = Field(description="the rule in words")
    severity: str = Field(description="info, warning or critical")
    state: str = Field(description="open, acknowledged or resolved")
    subject: Subject
    booking_id: int | None
    driver_id: int | None
    summary: str = Field(description="what the rule saw when it raised the alert")
    raised_at: str = Field(description="RFC 3339")
    acknowledged_at: str | None
    acknowledged_by: str | None = Field(description="the email of who acknowledged it")
    note: str | None
    resolved_at: str | None
    resolution: str | None = Field(
        description="why it cleared: the booking's status (assigned, cancelled, no_driver...), fresh_fix, moving, "
        "closing_in, drivers_near, ride_ended, new_occurrence"
    )
    details: dict


class Counts(BaseModel):
    open: int
    acknowledged: int


class AlertsOut(BaseModel):
    alerts: list[AlertOut]
    counts: Counts = Field(description="every unresolved alert, whatever the state asked for")


class AcknowledgeIn(BaseModel):
    note: str | None = Field(default=None, max_length=desk.MAX_NOTE, description="what the dispatcher did or will do")


def _pool():
    return services().db


async def _caller():
    user = await require_hidden(*STAFF)
    await limiter().enforce("alerts", str(user.id), what="alert requests")
    return user


def _states(text: str | None) -> list[str]:
    if text is None or not text.strip():
        return [str(s) for s in UNRESOLVED]
    states = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in states if s not in set(State)]
    if unknown or not states:
        shown = unknown[0][:40] if unknown else text[:40]
        raise Invalid(f"unknown state {shown!r}; states: {', '.join(State)}", code="unknown-state")
    return states


def _errors(*statuses: int):
    def decorate(func):
        for status in statuses:
            func = document_response(Problem, status)(func)
        return func

    return decorate


@bp.get("")
@tag(["dispatch"])
@role_required(*STAFF, hidden=True)
@validate_querystring(AlertsQuery)
@document_response(AlertsOut, 200)
@_errors(400, 401, 404, 422, 429, 503)
async def list_alerts(query_args: AlertsQuery):
    """The alerts in `state` (default: open and acknowledged): open before acknowledged, then
    critical before warning before info, then the newest. Resolved ones come newest resolved
    first. `counts` holds every unresolved alert (the control room's badge)."""
    await _caller()
    states = _states(query_args.state)
    async with _pool().acquire() as conn:
        found = await q.list_alerts(conn, states, query_args.limit)
        counts = await q.count_by_state(conn)
    return {"alerts": [a.to_json() for a in found], "counts": counts}, 200, NO_STORE


@bp.post("/<int:alert_id>/acknowledge")
@tag(["dispatch"])
@role_required(*STAFF, hidden=True)
@validate_request(AcknowledgeIn)
@document_response(AlertOut, 200)
@_errors(400, 401, 403, 404, 409, 422, 429, 503)
async def acknowledge_alert(alert_id: int, data: AcknowledgeIn):
    """A dispatcher has seen the alert, with an optional `note` (up to 500 characters). It stays
    listed as acknowledged until its condition clears (then it is resolved); the desk never raises
    it again meanwhile. Recorded in the audit log. 404 for an unknown alert; 409 (with
    `current_state`) for one acknowledged or resolved already."""
    user = await _caller()
    alert = await desk.acknowledge(_pool(), audit.Actor(user.email, user.id), alert_id, data.note)
    return alert.to_json(), 200, NO_STORE
