"""Who makes a product (源头): the producers whose catalogs this node holds list it, by name and place.

A household sees the source before it joins; the pool is bought from one of them at its cut-off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yuantou.domain.pooling import ProductSpec
from yuantou.protocol.profile import offers_product


@dataclass(frozen=True)
class Source:
    producer: str  # its subscriber id
    name: str  # the provider's name in its catalog
    place: str | None  # its first location's city or address, if the catalog gives one
    item_name: str | None  # what it calls the product


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def descriptor_name(part: dict[str, Any]) -> str | None:
    """A peer's provider or item name, if it gave a usable one (its catalog is a stranger's)."""
    descriptor = part.get("descriptor")
    return _text(descriptor.get("name")) if isinstance(descriptor, dict) else None


def _place(provider: dict[str, Any]) -> str | None:
    locations = provider.get("locations")
    first: dict[str, Any] = locations[0] if isinstance(locations, list) and locations and isinstance(
        locations[0], dict) else {}
    city: dict[str, Any] = first["city"] if isinstance(first.get("city"), dict) else {}
    return _text(city.get("name")) or _text(first.get("address")) or _text(city.get("code"))


def product_sources(catalogs: Mapping[tuple[str, str, str], dict[str, Any]], spec: ProductSpec) -> tuple[Source, ...]:
    """One entry per producer's provider whose catalog piece offers ``spec`` (peers' text, shown escaped)."""
    found: dict[tuple[str, str], Source] = {}
    for (producer, provider_id, _), piece in sorted(catalogs.items()):
        if (producer, provider_id) in found or not offers_product(piece, spec):
            continue
        provider = piece["providers"][0]
        found[(producer, provider_id)] = Source(producer, descriptor_name(provider) or producer, _place(provider),
                                                descriptor_name(provider["items"][0]))
    return tuple(found.values())
