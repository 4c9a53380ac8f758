"""What importing a catalog file would change, item by item, for the preview a producer confirms.

A window's capacity in a file is what it holds in all; the store keeps what is left of it, so the current items
are compared with what orders already hold of each window added back (``sold``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yuantou.domain.catalog import CatalogItem

FIELDS = ("name", "category", "grade", "unit", "price", "currency", "bulk_unit", "moq", "tiers", "delivery_fixed",
          "delivery_per_unit")


@dataclass(frozen=True)
class CatalogChanges:
    added: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # item id, the fields that change ("windows" among them)
    unchanged: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()  # in the store, not in the file, and the import replaces the catalog
    kept: tuple[str, ...] = field(default=())  # in the store, not in the file, kept

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.retired)


def _windows(item: CatalogItem, sold: dict[tuple[str, str], float]) -> set[tuple[str, str, str, float]]:
    return {(w.id, w.start, w.end, round(w.capacity + sold.get((item.id, w.id), 0.0), 6)) for w in item.windows}


def catalog_changes(current: dict[str, CatalogItem], incoming: list[CatalogItem],
                    sold: dict[tuple[str, str], float], replace: bool) -> CatalogChanges:
    added, changed, unchanged = [], [], []
    for item in incoming:
        before = current.get(item.id)
        if before is None:
            added.append(item.id)
            continue
        fields = [name for name in FIELDS if getattr(before, name) != getattr(item, name)]
        if _windows(before, sold) != {(w.id, w.start, w.end, round(w.capacity, 6)) for w in item.windows}:
            fields.append("windows")
        (changed.append((item.id, tuple(fields))) if fields else unchanged.append(item.id))
    missing = tuple(sorted(set(current) - {item.id for item in incoming}))
    return CatalogChanges(tuple(added), tuple(changed), tuple(unchanged), missing if replace else (),
                          () if replace else missing)
