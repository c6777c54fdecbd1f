"""The admin's driver form: what DriverForm.parse accepts and what it says is wrong."""

import pytest

from hexfleet.drivers.admin import DriverForm


@pytest.mark.parametrize(
    ("name", "phone", "plate", "vclass", "expected"),
    [
        ("Ann Lee", "", "", "standard", DriverForm("Ann Lee", None, None, "standard")),
        ("  Ann  ", "+49 30 1234567", "b-hf 1", "xl", DriverForm("Ann", "+49 30 1234567", "B-HF 1", "xl")),
        ("Zoë Ōkubo", "", "", "van", DriverForm("Zoë Ōkubo", None, None, "van")),
    ],
)
def test_accepts(name, phone, plate, vclass, expected):
    assert DriverForm.parse(name, phone, plate, vclass) == (expected, {})


@pytest.mark.parametrize(
    ("name", "phone", "plate", "vclass", "field"),
    [
        ("", "", "", "standard", "name"),
        ("x" * 201, "", "", "standard", "name"),
        ("Ann\x00Lee", "", "", "standard", "name"),  # PostgreSQL cannot store NUL
        ("Ann\x1bLee", "", "", "standard", "name"),
        ("Ann", "call me", "", "standard", "phone"),
        ("Ann", "", "B/HF/1", "standard", "vehicle_plate"),
        ("Ann", "", "", "limo", "vehicle_class"),
    ],
)
def test_refuses_with_the_field_named(name, phone, plate, vclass, field):
    form, errors = DriverForm.parse(name, phone, plate, vclass)
    assert form is None
    assert errors.get(field)
