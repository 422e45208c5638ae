"""How the CRM derives an account's region and size band from what a data set records.

Shared by the importer and the fixture generator, so both describe accounts the same way.
Country names are matched fuzzily because real exports misspell them ("Philipines").
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from connectors.schemas import SizeBand

__all__ = ["COUNTRY_REGIONS", "make_id", "region_of", "size_band"]

COUNTRY_REGIONS: dict[str, str] = {
    **dict.fromkeys(
        ["United States", "Canada", "Mexico", "Brazil", "Panama", "Argentina", "Chile",
         "Colombia", "Peru"],
        "Americas",
    ),
    **dict.fromkeys(
        ["United Kingdom", "Ireland", "Germany", "France", "Italy", "Spain", "Portugal",
         "Netherlands", "Belgium", "Switzerland", "Austria", "Norway", "Sweden", "Denmark",
         "Finland", "Poland", "Romania", "Czechia", "Greece", "Turkey", "Israel", "Jordan",
         "United Arab Emirates", "Saudi Arabia", "Egypt", "Kenya", "Nigeria", "South Africa"],
        "EMEA",
    ),
    **dict.fromkeys(
        ["Japan", "China", "Korea", "India", "Philippines", "Singapore", "Australia",
         "New Zealand", "Indonesia", "Vietnam", "Thailand", "Malaysia", "Taiwan"],
        "APAC",
    ),
}  # fmt: skip


def region_of(country: str | None) -> str | None:
    """Americas, EMEA or APAC for a country name as typed; None when it is not recognised."""
    if not country or not country.strip():
        return None
    found = process.extractOne(
        country.strip(), COUNTRY_REGIONS.keys(), scorer=fuzz.WRatio, score_cutoff=88
    )
    return COUNTRY_REGIONS[found[0]] if found else None


def size_band(employees: int | None) -> SizeBand | None:
    if employees is None or employees < 0:
        return None
    if employees < 200:
        return "small"
    if employees < 1000:
        return "mid"
    if employees < 5000:
        return "large"
    return "enterprise"


def make_id(prefix: str, name: str, taken: set[str]) -> str:
    """A readable, stable id from a name (``acc-acme-corporation``), unique within ``taken``."""
    base = f"{prefix}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-') or 'x'}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate
