"""A fare as an admin types it (pure): decimal text in the currency's units, checked per field,
and what it makes of a sample trip.

The amounts are read exactly as ``hexfleet fares set`` reads them (hexfleet/rides/money.py:
"2.50" EUR is 250 cents, more decimals than the currency has are refused), and the sample
price comes from the same ``fares.price`` every quote uses.
"""

from __future__ import annotations

from collections.abc import Mapping

from hexfleet.errors import Invalid
from hexfleet.rides import fares
from hexfleet.rides.money import format_major, normalise_currency, parse_amount

# (form field, Fare field, label): the amounts of a fare, in the order people read them.
AMOUNTS = (
    ("base", "base_minor", "Base"),
    ("per_km", "per_km_minor", "Per km"),
    ("per_minute", "per_minute_minor", "Per minute"),
    ("booking_fee", "booking_fee_minor", "Booking fee"),
    ("minimum", "minimum_minor", "Minimum"),
)
FIELDS = ("currency", *(name for name, _, _ in AMOUNTS))
# The trip the page prices with the fare being edited: a typical city ride, without surge.
SAMPLE_DISTANCE_M = 5000
SAMPLE_DURATION_S = 15 * 60
MAX_TEXT = 40


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def parse(vehicle_class: str, values: Mapping[str, str]) -> tuple[fares.Fare | None, dict[str, str]]:
    """The fare the form describes, or None and a message per field that is wrong."""
    errors: dict[str, str] = {}
    currency = None
    raw_currency = (values.get("currency") or "").strip()[:MAX_TEXT]
    if not raw_currency:
        errors["currency"] = "Enter the currency: a three-letter ISO 4217 code such as EUR."
    else:
        try:
            currency = normalise_currency(raw_currency)
        except Invalid as error:
            errors["currency"] = _sentence(error.detail.replace("currency must be", "Use"))
    amounts: dict[str, int] = {}
    for name, field, label in AMOUNTS:
        text = (values.get(name) or "").strip()[:MAX_TEXT]
        if not text:
            errors[name] = f"Enter the {label.lower()} (0 for none)."
        elif currency is not None:
            try:
                amounts[field] = parse_amount(text, currency, name=label)
            except Invalid as error:
                errors[name] = _sentence(error.detail)
    if errors or currency is None:
        return None, errors
    return fares.Fare(vehicle_class=vehicle_class, currency=currency, **amounts), {}


def form_values(fare: fares.Fare | None) -> dict[str, str]:
    """What the form shows for a stored fare (amounts in major units); empty for none."""
    if fare is None:
        return dict.fromkeys(FIELDS, "")
    return {"currency": fare.currency} | {
        name: format_major(getattr(fare, field), fare.currency) for name, field, _ in AMOUNTS
    }


def sample(fare: fares.Fare) -> fares.Price:
    """The fare's price for the sample trip, without surge."""
    return fares.price(fare, SAMPLE_DISTANCE_M, SAMPLE_DURATION_S, fares.SURGE_NONE)


def changes(before: fares.Fare | None, after: fares.Fare) -> dict[str, list[str | None]]:
    """What an edit changed, in the words and units the page shows ({"base": ["2.50", "3.00"]})."""
    old, new = form_values(before), form_values(after)
    return {name: [old[name] or None, new[name]] for name in FIELDS if old[name] != new[name]}
