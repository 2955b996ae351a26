"""A platform's free-text person attributes -> the inventory's values (SPEC §2), or None where unknown."""

from __future__ import annotations

import pycountry

# Lower-cased employee-type labels seen on directories -> the inventory's employment values.
EMPLOYMENT = {
    "employee": "employee", "full-time": "employee", "full time": "employee", "fulltime": "employee",
    "part-time": "employee", "part time": "employee", "permanent": "employee", "staff": "employee",
    "fte": "employee", "regular": "employee",
    "contractor": "contractor", "contract": "contractor", "temporary": "contractor", "temp": "contractor",
    "freelancer": "contractor", "consultant": "contractor",
    "vendor": "vendor", "supplier": "vendor", "partner": "vendor",
}


def employment(label: str | None) -> str | None:
    """`Full-Time` -> employee; anything not in EMPLOYMENT -> None (the policies treat it as unknown)."""
    if not label:
        return None
    return EMPLOYMENT.get(" ".join(label.strip().lower().split()))


def country(value: str | None) -> str | None:
    """An ISO 3166-1 code or exact country name (any case) -> its alpha-2 code; anything else -> None."""
    if not value or not value.strip():
        return None
    try:
        found = pycountry.countries.lookup(value.strip())
    except LookupError:
        return None
    return str(found.alpha_2)
