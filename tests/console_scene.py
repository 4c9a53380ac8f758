"""What the console tests share: an orchard producer and a buyer node registered in a directory on 127.0.0.1,
and a logged-in browser's HTTP client that posts as htmx does from the console's own pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, Proc, catalog_document


def orchard_and_buyer(tmp_path_factory, folder: str, database: str,  # noqa: ANN001
                      catalog: dict | None = None) -> Iterator[LocalNetwork]:
    """For a module fixture to ``yield from``: the network runs until the module's tests are done. ``database``:
    the module's ``storage()``, which is also how conftest knows to run the module on PostgreSQL too."""
    network = LocalNetwork(tmp_path_factory.mktemp(folder), database=database)
    try:
        network.start_directory()
        started = [network.add_node("orchard", ["producer"], catalog or catalog_document("orchard",
                                                                                         *PRODUCERS["orchard"]),
                                    wait=False), network.add_node("buyer1", ["buyer"], wait=False)]
        network.wait_started(started)
        yield network
    finally:
        network.stop()


def console_client(proc: Proc, prefix: str = "/dashboard", language: str = "en", timeout: float = 30) -> httpx.Client:
    """``proc``'s console as a logged-in browser sees it, under ``prefix``."""
    cookie = proc.login_cookie()
    return httpx.Client(base_url=proc.url + prefix, timeout=timeout, cookies={cookie["name"]: cookie["value"]},
                        headers={"HX-Request": "true", "Origin": proc.url, "Accept-Language": language})
