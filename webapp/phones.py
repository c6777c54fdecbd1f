"""The phone apps operators already run: Traccar Client (OsmAnd protocol) and OwnTracks.

Both retry anything that is not a 2xx, forever and in order, so a request that was read
and judged answers 200 even when its fix was rejected or filtered (the decision is
counted in /metrics and shown on the driver's detail pane); only a request that cannot
be read at all gets a 4xx. Pings then take the same path as the native API.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import time
from collections import defaultdict

import orjson
from quart import Blueprint, Response, request
from quart_schema import hide

from hexfleet.tracking import filters
from hexfleet.tracking.pings import Ping
from hexfleet.tracking.protocols import ProtocolError, Report
from hexfleet.tracking.protocols.osmand import parse_osmand_json, parse_osmand_params
from hexfleet.tracking.protocols.owntracks import parse_owntracks
from webapp import auth_failures
from webapp.errors import problem
from webapp.ingest import BrokerUnavailable, Ingest
from webapp.limits import client_address
from webapp.services import services

bp = Blueprint("phones", __name__)


def _ingest() -> Ingest:
    return services().ingest


async def _take(ingest: Ingest, driver_id: int, reports: list[Report]) -> None:
    """Hand one driver's reports to ingest: fixes as pings, coordinate-less ones as attributes."""
    pings = []
    for report in reports:
        if report.error:
            await ingest.reject(driver_id, [filters.INVALID])
        elif report.ping is None:
            ts = report.attributes.get("ts")
            ts = float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else time.time()
            verdict = filters.judge_time(Ping(0.0, 0.0, ts), time.time(), ingest.rules)
            if verdict != filters.ACCEPTED:
                await ingest.reject(driver_id, [verdict])
                continue
            await ingest.submit_attributes(driver_id, ts, report.attributes)
        else:
            attributes = report.attributes or None
            pings.append(dataclasses.replace(report.ping, attributes=attributes) if attributes else report.ping)
    if pings:
        await ingest.submit(driver_id, pings)


async def _guessing(ingest: Ingest, wait: float) -> tuple:
    """429 for an address that spent RATE_DEVICE_AUTH (webapp/auth_failures.py)."""
    await ingest.reject(None, [auth_failures.CODE])
    seconds, detail = auth_failures.refusal(wait)
    return problem(429, detail, auth_failures.CODE, {"Retry-After": str(seconds)}, retry_after=seconds)


def _busy() -> tuple:
    return problem(503, "could not queue the report; retry shortly", "broker-unavailable", {"Retry-After": "2"})


@bp.route("/osmand", methods=["GET", "POST"])
@hide
async def osmand():
    """OsmAnd protocol (Traccar Client): query string, form body or background-geolocation JSON."""
    ingest = _ingest()
    ingest.metrics.protocol_requests.labels("osmand").inc()
    address = client_address()
    blocked = ingest.auth_failures.blocked(address)
    if blocked is not None:  # before any lookup: a guess made now cannot be confirmed
        return await _guessing(ingest, blocked)
    now = time.time()
    try:
        if request.args:
            reports = [parse_osmand_params(request.args, now)]
        elif request.mimetype == "application/json":
            try:
                body = orjson.loads(await request.get_data())
            except orjson.JSONDecodeError:
                raise ProtocolError("body is not valid JSON") from None
            reports = parse_osmand_json(body, now)
            if len(reports) > ingest.settings.max_batch_pings:
                return problem(413, f"at most {ingest.settings.max_batch_pings} locations per request", "too-many")
        else:
            reports = [parse_osmand_params(await request.form, now)]
    except ProtocolError as error:
        await ingest.reject(None, [_reason(error)])
        return problem(error.status, str(error), "unreadable-report")
    by_driver: dict[int, list[Report]] = defaultdict(list)
    for report in reports:
        assert report.device_id is not None  # the parsers raise without one
        driver_id = await ingest.auth.driver_for_device(report.device_id) if _plausible_id(report.device_id) else None
        if driver_id is None:
            wait = await ingest.auth_failures.failed(address, report.device_id)
            if wait is not None:
                return await _guessing(ingest, wait)
            await ingest.reject(None, ["unknown-device"])
            # Never echo the id: it is a credential, and answers end up in logs and screenshots.
            return problem(404, "no live device has this id", "unknown-device")
        by_driver[driver_id].append(report)
    try:
        for driver_id, driver_reports in by_driver.items():
            await _take(ingest, driver_id, driver_reports)
    except BrokerUnavailable:
        return _busy()
    return Response(b"", status=200)


def _plausible_id(value: str, longest: int = 64) -> bool:
    """Device ids and tokens are short ASCII; anything else cannot match and must not reach
    PostgreSQL (which refuses NUL characters in text)."""
    return 0 < len(value) <= longest and "\x00" not in value


def _reason(error: ProtocolError) -> str:
    return "missing-device-id" if "device id" in str(error) else "unreadable"


def _basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        user, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep and user and password else None


@bp.post("/owntracks")
@hide
async def owntracks():
    """OwnTracks HTTP mode. Identity only from Basic auth (user = device id, password =
    device token); X-Limit-U/X-Limit-D and ?u=&d= are informational and never trusted."""
    ingest = _ingest()
    ingest.metrics.protocol_requests.labels("owntracks").inc()
    address = client_address()
    blocked = ingest.auth_failures.blocked(address)
    if blocked is not None:  # before any lookup: a guess made now cannot be confirmed
        return await _guessing(ingest, blocked)
    credentials = _basic_credentials()
    usable = credentials is not None and _plausible_id(credentials[0]) and _plausible_id(credentials[1], 200)
    driver_id = await ingest.auth.driver_for_basic(*credentials) if usable and credentials else None
    if driver_id is None:
        # Credentials that were sent and failed are a guess; a request without any is not.
        wait = await ingest.auth_failures.failed(address, "\n".join(credentials)) if credentials else None
        if wait is not None:
            return await _guessing(ingest, wait)
        await ingest.reject(None, ["bad-credentials"])
        return problem(401, "HTTP Basic auth with the device id and token is required", "bad-credentials",
                       {"WWW-Authenticate": 'Basic realm="hexfleet", charset="UTF-8"'})  # fmt: skip
    try:
        body = orjson.loads(await request.get_data())
        report = parse_owntracks(body)
    except orjson.JSONDecodeError:
        await ingest.reject(driver_id, ["unreadable"])
        return problem(400, "body is not valid JSON", "unreadable-report")
    except ProtocolError as error:
        await ingest.reject(driver_id, ["unreadable"])
        return problem(error.status, str(error), "unreadable-report")
    if report is not None:
        try:
            await _take(ingest, driver_id, [report])
        except BrokerUnavailable:
            return _busy()
    # The app treats anything but a JSON array as an error and would retry forever.
    return Response(b"[]", status=200, content_type="application/json")
