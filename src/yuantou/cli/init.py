"""``yuantou init``: a new node's folder without hand-written files. Asks what it needs (or takes flags, with
``--yes`` for scripts), writes keys, a commented TOML and a sample catalog, checks the directory answers, and
prints how to start it. ``yuantou node serve`` then subscribes it (``subscribe_at_start``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

import typer

from yuantou.cli.common import fail

init_app = typer.Typer()
DEFAULT_ZONE = "Asia/Shanghai"  # where most of its users are; --time-zone for anywhere else


@init_app.command("init")
def init(  # noqa: PLR0913 (one option per question)
    folder: Optional[Path] = typer.Option(None, "--dir", help="the node's folder (default: ./<subscriber id>)"),
    roles: Optional[list[str]] = typer.Option(None, "--role", help="producer or buyer (repeat for both)"),
    name: str = typer.Option("", "--name", help="the producer's or community's name, as people read it"),
    subscriber_id: str = typer.Option("", "--id", help="the node's id on the network (default: the public "
                                                       "URL's host name if it is a domain name, else one made "
                                                       "from --name)"),
    public_url: str = typer.Option("", "--url", help="where peers and browsers reach it (default: "
                                                     "http://127.0.0.1:<port>)"),
    host: str = typer.Option("127.0.0.1", "--host", help="where it listens (0.0.0.0: every interface)"),
    port: int = typer.Option(8001, "--port", min=1, max=65535),
    time_zone: str = typer.Option("", "--time-zone", help=f"IANA zone or UTC offset (default {DEFAULT_ZONE})"),
    domain: str = typer.Option("yuantou:agri", "--domain", help="the Beckn domain it trades in"),
    city: str = typer.Option("", "--city", help="Beckn city code, e.g. std:021 (default: the time zone's city)"),
    country: str = typer.Option("", "--country", help="ISO 3166 three-letter code (default: the time zone's)"),
    database_url: str = typer.Option("sqlite:///node.db", "--database", help="SQLite file (in the node's folder) "
                                                                              "or postgresql://…"),
    directory_url: str = typer.Option("", "--directory", help="the directory's address, e.g. http://127.0.0.1:8000"),
    place: str = typer.Option("", "--place", help="producer: where it is, in words (shown as the source)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="ask nothing: defaults for what no flag gives"),
) -> None:
    """Set up a new node: keys, a commented node.toml and (for a producer) a sample catalog."""
    from yuantou.node.init_files import InitProblem, NewNode, default_subscriber_id, write_node
    from yuantou.node.place_defaults import city_of, country_of

    def ask(question: str, value: str, default: str) -> str:
        if value or yes:
            return value or default
        return str(typer.prompt(question, default=default or None, show_default=bool(default))).strip()

    chosen = tuple(roles or ()) or tuple(r.strip() for r in ask("Roles (producer, buyer, or both)", "",
                                                                "producer").replace(",", " ").split())
    name = ask("Name (as people read it, e.g. 山坡果园合作社)", name, "")
    url = ask("Public address (where peers and browsers reach it)", public_url, f"http://127.0.0.1:{port}")
    subscriber_id = ask("Node id on the network", subscriber_id, default_subscriber_id(url, name or "node"))
    zone = ask("Time zone", time_zone, DEFAULT_ZONE)
    city = ask("City code (the producers' city, e.g. std:021)", city, city_of(zone) or "")
    country = ask("Country (ISO 3166, three letters)", country, country_of(zone) or "").upper()
    directory_url = ask("Directory address", directory_url, "http://127.0.0.1:8000")
    if "producer" in chosen:
        place = ask("Where the producer is, in words (optional)", place, "")
    new = NewNode(roles=chosen, name=name, subscriber_id=subscriber_id, public_url=url, host=host, port=port,
                  time_zone=zone, domain=domain, city=city, country=country, database_url=database_url,
                  directory_url=directory_url, place=place)
    try:
        written = write_node(folder or Path(subscriber_id), new, datetime.now(UTC))
    except InitProblem as problem:
        fail(str(problem))
    say = typer.echo  # unwrapped: paths, addresses and the token are copied from here
    say(f"wrote {written.config_path}, keys in {written.folder / 'keys'}"
        + (f", sample catalog {written.catalog_path}" if written.catalog_path else ""))
    reachable = _directory_answers(directory_url)
    say(f"directory {directory_url}: " + ("answers; the node subscribes itself when it starts" if reachable is None
                                          else f"NOT REACHABLE ({reachable}); start it, or fix directory_url, "
                                               "before the node"))
    say(f"start it:   yuantou node serve --config {written.config_path}")
    say(f"dashboard:  {written.dashboard_url}")
    say(f"token:      {written.token}   (its login; also api_token in {written.config_path.name})")


def _directory_answers(url: str) -> str | None:
    """None when the directory answers its info page, else why not."""
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        return str(exc) or type(exc).__name__
    return None
