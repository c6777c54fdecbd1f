"""What the rides API answers, as /docs shows it (the bodies come from the domain's to_json)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PointOut(BaseModel):
    lat: float
    lng: float
    label: str | None = Field(description='its name ("Alexanderplatz, 60 m", an address) or null')


class AvailabilityOut(BaseModel):
    drivers_near: int = Field(
        description="available drivers of this class within dispatch reach, among the nearest few the ETA "
        "search read: 0 means none within reach; otherwise at least this many"
    )
    suggested_classes: list[str] = Field(
        description="with none of this class within reach: the classes that have an available driver "
        "within reach (and a fare), nearest first; empty otherwise"
    )
    needs_confirmation: bool = Field(
        description='booking this quote for now needs "confirm_no_driver": true (else 409 no-driver-near)'
    )
    keep_looking_s: float = Field(
        description="how long dispatch keeps looking for a driver when nobody is in reach (DISPATCH_PATIENCE_S)"
    )
    keep_looking_minutes: int = Field(description="the same, in whole minutes (rounded up)")
    notice: str | None = Field(
        description='what to tell the rider when needs_confirmation ("No XL car is near: dispatch will keep '
        'looking for 5 minutes."), else null'
    )


class QuoteOut(BaseModel):
    quote_id: int
    price_minor: int = Field(description="integer minor units of currency")
    currency: str
    expires_at: str = Field(description="RFC 3339: the price holds until then")
    surge_multiplier: float
    eta_pickup_s: int | None = Field(description="the nearest available driver of this class; null: none in reach")
    distance_m: int
    duration_s: int
    breakdown: dict
    vehicle_class: str
    pickup: PointOut
    dropoff: PointOut
    pickup_at: str | None
    route_source: str
    availability: AvailabilityOut | None = Field(description="who is near the pickup now; null for a later pickup")


class PassengerOut(BaseModel):
    name: str
    phone: str


class BookingOut(BaseModel):
    id: int
    status: str = Field(
        description="scheduled, searching, offered, assigned, arrived, in_progress, completed, cancelled or no_driver"
    )
    vehicle_class: str
    pickup: PointOut = Field(description="label copied from the quote")
    dropoff: PointOut
    price_minor: int
    currency: str
    scheduled_for: str | None
    driver_id: int | None
    search_ring: int
    cancelled_by: str | None
    updated_at: str
    quote_id: int
    customer_id: int | None
    passenger: PassengerOut
    notes: str | None
    distance_m: int
    duration_s: int
    breakdown: dict
    dispatch_at: str | None
    cancel_reason: str | None
    created_at: str
    assigned_at: str | None
    arrived_at: str | None
    started_at: str | None
    ended_at: str | None
    tracking_url: str
    search_until: str | None = Field(
        description="while it looks for a driver: when dispatch stops looking and the booking becomes no_driver "
        "if nobody came within reach (DISPATCH_PATIENCE_S after the search started); null otherwise"
    )


class BookingDetailOut(BookingOut):
    events: list[dict] = Field(description="its timeline, oldest first")
    offers: list[dict] | None = Field(default=None, description="staff only: every offer made for it")
