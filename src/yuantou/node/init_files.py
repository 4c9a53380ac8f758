"""What ``yuantou init`` writes for a new node: its keys, a commented ``node.toml`` and, for a producer, a sample
catalog in the node's local days. The written files are read back through the same checks ``yuantou node
serve`` makes, so a node that ``init`` set up starts.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from yuantou.domain.pool_schedule import parse_zone
from yuantou.node.config import ConfigError, NodeConfig, load_config
from yuantou.producer.catalog_file import CatalogFileError, load_catalog_file
from yuantou.protocol.keys import KeyPair

CONFIG_NAME = "node.toml"
CATALOG_NAME = "catalog.json"
KEYS_FOLDER = "keys"


class InitProblem(ValueError):
    """A choice that cannot make a working node, named by its option (``--city``) and said in words."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


@dataclass(frozen=True)
class NewNode:
    """Everything ``init`` asks."""

    roles: tuple[str, ...]
    name: str  # the producer's or community's name, as people read it
    subscriber_id: str
    public_url: str  # where peers and browsers reach the node, without /beckn
    host: str
    port: int
    time_zone: str
    domain: str
    city: str
    country: str
    database_url: str
    directory_url: str
    place: str = ""  # producer: where it is, in words (源头)


@dataclass(frozen=True)
class Written:
    folder: Path
    config_path: Path
    catalog_path: Path | None
    token: str
    dashboard_url: str


def default_subscriber_id(public_url: str, name: str) -> str:
    """The public URL's host name where it has one (a Beckn subscriber id is usually the node's domain name),
    else one made from ``name`` (never one another node set up this way would take too)."""
    host = urlsplit(public_url).hostname or ""
    if host and not host.replace(".", "").isdigit() and host not in ("localhost",) and "." in host:
        return host
    slug = "-".join(filter(None, "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower()).split("-")))
    return f"{slug or 'node-' + secrets.token_hex(3)}.yuantou.local"  # a name in Chinese: a node id of its own


def check(new: NewNode) -> None:
    """Refuse what would not make a working node, naming the option."""
    if not new.roles or any(r not in ("buyer", "producer") for r in new.roles):
        raise InitProblem("--role", "give producer, buyer, or both")
    if not new.name.strip():
        raise InitProblem("--name", "give the producer's or community's name")
    for option, url in (("--url", new.public_url), ("--directory", new.directory_url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InitProblem(option, f"{url!r} is not an http:// or https:// address")
    try:
        parse_zone(new.time_zone)
    except ValueError as exc:
        raise InitProblem("--time-zone", str(exc)) from None
    if not new.city.strip():
        raise InitProblem("--city", "give the Beckn city code of where the node trades, e.g. std:021 (Shanghai); "
                                    "the gateway sends a search only to producers of the same city")
    if len(new.country) != 3 or not new.country.isalpha() or not new.country.isupper():
        raise InitProblem("--country", f"{new.country!r} is not an ISO 3166 three-letter code such as CHN")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string (JSON's escapes are TOML's)


def _comment(key: str) -> str:
    field = NodeConfig.model_fields.get(key)
    return f"# {field.description}\n" if field is not None and field.description else ""


def config_text(new: NewNode, token: str) -> str:
    """The node's TOML: every key it needs, each with what it means; optional ones commented out with their
    defaults, so that a person sees what can be changed."""
    set_keys: list[tuple[str, object, str]] = [
        ("subscriber_id", new.subscriber_id, "# the node's id on the network (Beckn bap_id / bpp_id)\n"),
        ("key_id", "k1", "# the id of its signing key in the directory\n"),
        ("roles", list(new.roles), "# producer (sells), buyer (a community organiser's pools), or both\n"),
        ("url", new.public_url.rstrip("/") + "/beckn", "# where peers reach its Beckn endpoints\n"),
        ("host", new.host, "# where it listens (0.0.0.0 for every interface)\n"),
        ("port", new.port, ""),
        ("key_file", KEYS_FOLDER, "# its keys (written by yuantou init; keep them secret and backed up)\n"),
        ("directory_url", new.directory_url.rstrip("/"), "# the directory that lists who is where\n"),
        ("database_url", new.database_url, "# its store: a SQLite file next to this one, or postgresql://…\n"),
        ("domain", new.domain, "# Beckn context: the gateway sends searches to producers of the same domain and city\n"),
        ("city", new.city, ""),
        ("country", new.country, ""),
        ("time_zone", new.time_zone, ""),
        ("api_token", token, "# the dashboard's login and the business API's bearer token: keep it secret\n"),
        ("subscribe_at_start", True, ""),
    ]
    if "producer" in new.roles:
        set_keys += [("catalog_file", CATALOG_NAME, "# read into the store the first time the node starts (edit it, "
                                                    "then: yuantou node import-catalog --config node.toml)\n"),
                     ("provider_name", new.name, "# the producer's name as buyers and households see it\n")]
        if new.place:
            set_keys.append(("provider_place", new.place, ""))
    else:
        set_keys.append(("provider_name", new.name, "# the community's name, as its households see it\n"))
    optional = ["pool_cutoff", "pool_pickup", "pool_step", "offers_refresh_seconds", "workers"]
    lines = [f"# Yuantou node {new.subscriber_id}, written by yuantou init. Every key: the README's "
             "'Node configuration (TOML)'.\n\n"]
    for key, value, note in set_keys:
        lines.append(f"{note or _comment(key)}{key} = {_toml(value)}\n\n")
    lines.append("# Optional, with their defaults:\n")
    for key in optional:
        field = NodeConfig.model_fields[key]
        default = field.default
        assert default is not None  # the keys listed all have one
        lines.append(f"{_comment(key)}# {key} = {_toml(default)}\n")
    lines.append("# where searches go (default: directory_url)\n# gateway_url = \"http://…\"\n")
    return "".join(lines)


def sample_catalog(new: NewNode, today: datetime) -> dict:
    """Two items offered for the next three local days (06:00-20:00), one with pooled-buying terms: a start the
    producer edits in the console."""
    zone = parse_zone(new.time_zone)
    start_of_today = today.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)

    def windows(capacity: int) -> list[dict]:
        out = []
        for days in (1, 2, 3):
            day = start_of_today + timedelta(days=days)
            out.append({"id": day.date().isoformat(), "start": (day + timedelta(hours=6)).isoformat(),
                        "end": (day + timedelta(hours=20)).isoformat(), "capacity": capacity})
        return out

    return {
        "provider": {"id": f"{new.subscriber_id}-provider", "name": new.name, **({"place": new.place} if new.place
                                                                                 else {})},
        "items": [
            {"id": "apple-fuji-a", "name": "红富士苹果 Fuji apples, grade A", "category": "fruit", "unit": "kg",
             "price": 8.5, "currency": "CNY", "grade": "A", "bulk_unit": "5", "moq": "50",
             "tiers": [{"min_quantity": "200", "price": "8.0"}], "windows": windows(500)},
            {"id": "pear-snow", "name": "雪梨 Snow pears", "category": "fruit", "unit": "kg", "price": 6.0,
             "currency": "CNY", "windows": windows(300)},
        ],
    }


def write_node(folder: Path, new: NewNode, now: datetime) -> Written:
    """Write the node's folder; refuses to touch one that already holds a node (its keys are its identity)."""
    check(new)
    folder = Path(folder)
    config_path = folder / CONFIG_NAME
    if config_path.exists() or (folder / KEYS_FOLDER).exists():
        raise InitProblem("--dir", f"{folder} already holds a node ({CONFIG_NAME} or {KEYS_FOLDER}/): choose "
                                   "another folder; init never overwrites a node's keys")
    folder.mkdir(parents=True, exist_ok=True)
    KeyPair.generate().save(folder / KEYS_FOLDER)
    token = secrets.token_urlsafe(24)
    catalog_path = None
    if "producer" in new.roles:
        catalog_path = folder / CATALOG_NAME
        catalog_path.write_text(json.dumps(sample_catalog(new, now), ensure_ascii=False, indent=2) + "\n",
                                encoding="utf-8")
    config_path.write_text(config_text(new, token), encoding="utf-8")
    try:  # what serve will read, read now: a node init set up starts
        load_config(config_path)
        if catalog_path is not None:
            load_catalog_file(catalog_path)
    except (ConfigError, CatalogFileError) as exc:
        raise InitProblem("--dir", f"the files written do not check out: {exc}") from None
    return Written(folder, config_path, catalog_path, token, new.public_url.rstrip("/") + "/dashboard")
