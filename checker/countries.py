"""ISO 3166-1 alpha-2 country codes, and the hint for a code that is almost one."""

from __future__ import annotations

import functools

import pycountry

# Codes people write for a country that ISO 3166-1 spells otherwise (the EU's own usage among them).
ALIASES = {"UK": "GB", "EL": "GR"}


@functools.cache
def codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (a set: a lookup per person was a fifth of build time)."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def hint(code: object) -> str:
    """`; did you mean 'GB'?` for a common alias, an alpha-3 code or a lowercase code; else ''."""
    if not isinstance(code, str):
        return ""
    upper = code.strip().upper()
    if upper in ALIASES:
        country = pycountry.countries.get(alpha_2=ALIASES[upper])
        name = f"{country.name}'s " if country is not None else ""
        return f"; did you mean {ALIASES[upper]!r}? ({name}ISO 3166-1 code)"
    if upper in codes() and upper != code:
        return f"; did you mean {upper!r}?"
    if len(upper) == 3:
        country = pycountry.countries.get(alpha_3=upper)
        if country is not None:
            return f"; did you mean {country.alpha_2!r}? (two letters, not three)"
    return ""
