"""Vehicle classes, spelled once: what a driver drives, what a rider asks for, what a fare prices."""

from __future__ import annotations

from enum import StrEnum


class VehicleClass(StrEnum):
    STANDARD = "standard"
    COMFORT = "comfort"
    XL = "xl"
    VAN = "van"


# In the order riders and admins see them (plain values: argparse shows them as written).
VEHICLE_CLASSES: tuple[str, ...] = tuple(c.value for c in VehicleClass)
DEFAULT_CLASS: str = VehicleClass.STANDARD.value

# Names on the pages (buttons, fare cards).
LABELS: dict[str, str] = {
    VehicleClass.STANDARD: "Standard",
    VehicleClass.COMFORT: "Comfort",
    VehicleClass.XL: "XL",
    VehicleClass.VAN: "Van",
}
# As a sentence says it ("no XL car within reach").
SPOKEN: dict[str, str] = {
    VehicleClass.STANDARD: "standard car",
    VehicleClass.COMFORT: "comfort car",
    VehicleClass.XL: "XL car",
    VehicleClass.VAN: "van",
}
