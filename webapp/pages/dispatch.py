"""Dispatching rides from the control room: the booking queue, phone bookings, manual dispatch."""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("dispatch_pages", __name__)
