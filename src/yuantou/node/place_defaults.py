"""Where a new node probably is, from its time zone: the country (ISO 3166 alpha-3, as Beckn contexts carry it)
and a city code, so that ``yuantou init`` offers defaults that fit instead of Beckn's Indian examples.

The country comes from the IANA zone table the ``tzdata`` package ships (zone -> alpha-2) and CLDR's code aliases
in Babel (alpha-2 -> alpha-3). A city code cannot be read off a zone in general: ``std:`` codes are telephone area
codes, so the zone's own city is offered where it is known here, and otherwise the person is asked.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

# std: city codes (telephone area codes) of the cities that name the zones, where a zone names one
ZONE_CITIES = {
    "Asia/Shanghai": "std:021", "Asia/Urumqi": "std:0991", "Asia/Chongqing": "std:023", "Asia/Harbin": "std:0451",
    "Asia/Hong_Kong": "std:852", "Asia/Macau": "std:853", "Asia/Taipei": "std:02", "Asia/Kolkata": "std:033",
    "Asia/Calcutta": "std:033", "Asia/Singapore": "std:65",
}
ZONE_ALIASES = {"PRC": "Asia/Shanghai", "Asia/Chongqing": "Asia/Shanghai", "Asia/Harbin": "Asia/Shanghai",
                "Asia/Calcutta": "Asia/Kolkata", "Asia/Macao": "Asia/Macau"}


@cache
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO 3166 alpha-2, from tzdata's zone.tab (one row per zone: code, coordinates, zone, …)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _, zone, *_ = line.split("\t")
            out[zone] = code
    return out


@cache
def _alpha3() -> dict[str, str]:
    """ISO 3166 alpha-2 -> alpha-3, from CLDR's territory aliases (``CHN`` is an alias of ``CN``)."""
    from babel.core import get_global

    aliases = get_global("territory_aliases")
    return {targets[0]: code for code, targets in aliases.items()
            if len(code) == 3 and code.isalpha() and len(targets) == 1}


def country_of(zone: str) -> str | None:
    """``CHN`` for Asia/Shanghai; None for a zone no country keeps (UTC, an offset)."""
    alpha2 = _zone_countries().get(ZONE_ALIASES.get(zone, zone))
    return _alpha3().get(alpha2) if alpha2 else None


def city_of(zone: str) -> str | None:
    """The ``std:`` code of the city that names the zone, where known here."""
    return ZONE_CITIES.get(zone) or ZONE_CITIES.get(ZONE_ALIASES.get(zone, ""))
