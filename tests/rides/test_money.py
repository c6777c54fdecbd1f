"""Money typed and shown in major units, stored exactly as integer minor units (pure tables)."""

import pytest

from hexfleet.errors import Invalid
from hexfleet.rides.money import (
    EXPONENTS,
    MAX_MINOR,
    exponent,
    format_amount,
    format_major,
    normalise_currency,
    parse_amount,
)


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("GBP", 2),
        ("CHF", 2),
        ("IDR", 2),  # ISO says 2 even though prices there are whole rupiah
        ("JPY", 0),
        ("KRW", 0),
        ("ISK", 0),
        ("CLP", 0),
        ("VND", 0),
        ("XOF", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("IQD", 3),
        ("LYD", 3),
        ("CLF", 4),
        ("eur", 2),  # typed in lower case
        (" jpy ", 0),
    ],
)
def test_exponent_per_currency(currency, expected):
    assert exponent(currency) == expected


def test_every_code_is_three_capital_letters_with_a_known_exponent():
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in EXPONENTS)
    assert set(EXPONENTS.values()) == {0, 2, 3, 4}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("EURO", "three-letter ISO 4217 code"),
        ("E1R", "three-letter ISO 4217 code"),
        ("", "three-letter ISO 4217 code"),
        ("€", "three-letter ISO 4217 code"),
        ("ÉUR", "three-letter ISO 4217 code"),
        ("ABC", "unknown currency 'ABC'"),
        ("XAU", "unknown currency 'XAU'"),  # gold: no minor unit in ISO 4217, not a fare currency
        ("XXX", "unknown currency 'XXX'"),  # "no currency"
    ],
)
def test_bad_currencies_are_refused(text, message):
    with pytest.raises(Invalid, match=message):
        normalise_currency(text)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("2.50", "EUR", 250),
        ("2.5", "EUR", 250),
        ("2", "EUR", 200),
        ("0.30", "EUR", 30),
        ("0.01", "EUR", 1),
        ("0", "EUR", 0),
        ("0.00", "EUR", 0),
        ("007.00", "EUR", 700),
        (" 1.35 ", "EUR", 135),
        ("1.35", "eur", 135),
        # Values float cannot hold exactly come out exact.
        ("0.29", "EUR", 29),
        ("1.15", "EUR", 115),
        ("4.35", "USD", 435),
        ("99999.99", "EUR", 9_999_999),
        ("100000.00", "EUR", MAX_MINOR),
        ("300", "JPY", 300),
        ("1000", "KRW", 1000),
        ("10000000", "JPY", MAX_MINOR),
        ("1.250", "BHD", 1250),
        ("0.001", "KWD", 1),
        ("2.5", "OMR", 2500),
        ("3", "TND", 3000),
        ("1.2345", "CLF", 12345),
    ],
)
def test_parse_amount(text, currency, expected):
    minor = parse_amount(text, currency)
    assert minor == expected and type(minor) is int


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("2.505", "EUR", "EUR has 2 decimals, 2.505 has 3"),
        ("1.250", "EUR", "EUR has 2 decimals"),  # maybe 1250 with a thousands separator: never guess
        ("2.500", "EUR", "EUR has 2 decimals"),
        ("1.5", "JPY", "JPY has no minor unit"),
        ("100.00", "KRW", "KRW has no minor unit"),
        ("1.2345", "BHD", "BHD has 3 decimals, 1.2345 has 4"),
        ("-1", "EUR", "must not be negative"),
        ("-0.50", "EUR", "must not be negative"),
        ("2,50", "EUR", "decimals with a point"),
        ("1,000.00", "EUR", "no thousands separators"),
        ("+2.50", "EUR", "must be an amount in EUR such as 12.50"),
        ("", "EUR", "must be an amount"),
        ("   ", "EUR", "must be an amount"),
        (".5", "EUR", "must be an amount"),
        ("5.", "EUR", "must be an amount"),
        ("1e3", "EUR", "must be an amount"),
        ("nan", "EUR", "must be an amount"),
        ("inf", "EUR", "must be an amount"),
        ("1_000", "EUR", "must be an amount"),
        ("2 50", "EUR", "must be an amount"),
        ("0x10", "EUR", "must be an amount"),
        ("٣", "EUR", "must be an amount"),  # an Arabic-Indic digit: int() would take it
        ("€2.50", "EUR", "must be an amount"),
        ("1.2.3", "EUR", "must be an amount"),
        ("x", "JPY", "must be an amount in JPY such as 12,"),
        ("100000.01", "EUR", r"too large \(at most 100000.00 EUR\)"),
        ("10000001", "JPY", r"too large \(at most 10000000 JPY\)"),
        ("10000.001", "KWD", r"too large \(at most 10000.000 KWD\)"),
        ("9" * 5000, "EUR", "too large"),  # never handed to int(): its digit limit raises ValueError
        ("1", "EURO", "three-letter ISO 4217 code"),
        ("1", "ABC", "unknown currency"),
    ],
)
def test_parse_amount_refuses(text, currency, message):
    with pytest.raises(Invalid, match=message):
        parse_amount(text, currency, name="--base")


def test_refusals_name_the_option_and_fit_on_one_line():
    with pytest.raises(Invalid) as refused:
        parse_amount("2.505", "EUR", name="--per-km")
    assert str(refused.value).startswith("--per-km") and "\n" not in str(refused.value)
    with pytest.raises(Invalid) as huge:
        parse_amount("1" * 200, "EUR", name="--base")
    assert len(str(huge.value)) < 120


def test_a_lower_maximum_is_honoured():
    assert parse_amount("5.00", "EUR", maximum=500) == 500
    with pytest.raises(Invalid, match=r"at most 5.00 EUR"):
        parse_amount("5.01", "EUR", maximum=500)


@pytest.mark.parametrize(
    ("minor", "currency", "major", "amount"),
    [
        (1240, "EUR", "12.40", "12.40 EUR"),
        (5, "EUR", "0.05", "0.05 EUR"),
        (0, "EUR", "0.00", "0.00 EUR"),
        (100, "USD", "1.00", "1.00 USD"),
        (MAX_MINOR, "EUR", "100000.00", "100000.00 EUR"),
        (-250, "EUR", "-2.50", "-2.50 EUR"),  # a refund, should one ever be shown
        (1200, "JPY", "1200", "1200 JPY"),
        (0, "KRW", "0", "0 KRW"),
        (1250, "BHD", "1.250", "1.250 BHD"),
        (7, "KWD", "0.007", "0.007 KWD"),
        (12345, "CLF", "1.2345", "1.2345 CLF"),
        # A code stored before it was checked: no exponent is guessed.
        (1240, "ZZZ", "1240 minor units", "1240 minor units of ZZZ"),
    ],
)
def test_format(minor, currency, major, amount):
    assert format_major(minor, currency) == major
    assert format_amount(minor, currency) == amount


@pytest.mark.parametrize("currency", ["EUR", "JPY", "BHD", "CLF"])
@pytest.mark.parametrize("minor", [0, 1, 9, 10, 99, 100, 101, 1234, 700_000, MAX_MINOR])
def test_what_is_shown_reads_back_as_the_same_amount(minor, currency):
    assert parse_amount(format_major(minor, currency), currency) == minor
