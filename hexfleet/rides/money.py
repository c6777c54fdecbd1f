"""Money as people type and read it (pure): decimal text in major units ⇄ integer minor units.

A currency's exponent is its ISO 4217 minor unit: EUR has 2 (``12.40`` is 1240 cents),
JPY and KRW have none (``1200`` is 1200 yen), BHD, KWD, JOD, OMR and TND have 3
(``1.250`` is 1250 fils). Parsing works on the digits, never through ``float``, so what
is typed is exactly what is stored; text with more decimals than the currency has is
refused rather than rounded (``1.250`` EUR may well mean one thousand two hundred and
fifty, written with a German thousands separator).
"""

from __future__ import annotations

import re

from hexfleet.errors import Invalid

# The fares table's CHECK (migrations/003_rides.sql): every amount is 0 … 10 000 000 minor units.
MAX_MINOR = 10_000_000

# ISO 4217 list one (the currencies and funds in use), by minor-unit exponent. Codes whose
# minor unit is "N.A." (gold, silver, SDR, bond units, XTS, XXX) are left out: nobody pays a
# ride in them. When ISO adds a currency, add it here.
_BY_EXPONENT: dict[int, str] = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
          BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
          FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
          KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
          NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
          SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
          VES WST XCD XCG YER ZAR ZMW ZWG""",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
EXPONENTS: dict[str, int] = {code: exp for exp, codes in _BY_EXPONENT.items() for code in codes.split()}

_CODE = re.compile(r"[A-Z]{3}", re.ASCII)
# Digits, optionally a point and more digits: no sign, exponent, separators, or non-ASCII digits.
_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?", re.ASCII)
# Longer than this (leading zeros aside) is past any limit: never hand int() a huge string.
_MAX_DIGITS = 18


def normalise_currency(text: str) -> str:
    """An ISO 4217 code as stored (``eur`` → ``EUR``); Invalid for anything else."""
    code = text.strip().upper()
    if not _CODE.fullmatch(code):
        raise Invalid(f"currency must be a three-letter ISO 4217 code such as EUR, not {text[:40]!r}")
    if code not in EXPONENTS:
        raise Invalid(f"unknown currency {code!r}: use an ISO 4217 code such as EUR, USD, GBP, JPY")
    return code


def exponent(currency: str) -> int:
    """How many decimals the currency has (EUR 2, JPY 0, BHD 3)."""
    return EXPONENTS[normalise_currency(currency)]


def parse_amount(text: str, currency: str, *, name: str = "amount", maximum: int = MAX_MINOR) -> int:
    """``"2.50"`` in EUR → 250: major units typed as decimal text, exactly, to integer minor units.

    Refused (Invalid, naming ``name``): a sign, a comma, an exponent, anything but ASCII
    digits with at most one point; more decimals than the currency has; more than
    ``maximum`` minor units.
    """
    code = normalise_currency(currency)
    exp = EXPONENTS[code]
    raw = text.strip()
    shown = raw[:40]
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        if raw.startswith("-") and _AMOUNT.fullmatch(raw[1:]):
            raise Invalid(f"{name} must not be negative ({shown})")
        example = format_major(1250 * 10**exp // 100, code)
        if "," in raw:
            raise Invalid(f"{name}: write decimals with a point and no thousands separators ({example}), not {shown!r}")
        raise Invalid(f"{name} must be an amount in {code} such as {example}, not {shown!r}")
    whole, fraction = match.group(1).lstrip("0") or "0", match.group(2) or ""
    if len(fraction) > exp:
        if exp == 0:
            raise Invalid(f"{name}: {code} has no minor unit, write a whole number (not {shown})")
        raise Invalid(f"{name}: {code} has {exp} decimal{'s' if exp > 1 else ''}, {shown} has {len(fraction)}")
    if len(whole) > _MAX_DIGITS:
        raise Invalid(f"{name} {shown[:20]}… is too large (at most {format_amount(maximum, code)})")
    minor = int(whole) * 10**exp + int(fraction.ljust(exp, "0") or "0")
    if minor > maximum:
        raise Invalid(f"{name} {shown} {code} is too large (at most {format_amount(maximum, code)})")
    return minor


def format_major(minor: int, currency: str) -> str:
    """1240 in EUR → ``"12.40"``; 1200 in JPY → ``"1200"``. Exact (integer arithmetic)."""
    exp = EXPONENTS.get(currency)
    if exp is None:  # a code stored before it was checked: show what is known, guess nothing
        return f"{minor} minor units"
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**exp)
    return f"{sign}{whole}.{fraction:0{exp}d}" if exp else f"{sign}{whole}"


def format_amount(minor: int, currency: str) -> str:
    """1240 in EUR → ``"12.40 EUR"``."""
    if currency not in EXPONENTS:
        return f"{minor} minor units of {currency}"
    return f"{format_major(minor, currency)} {currency}"
