"""Screenshots of each dashboard view for the README: ``python docs/screenshots.py``.

Starts the browser tests' scene (tests/dashboard_scene.py) on 127.0.0.1 and photographs it
with Playwright and Debian's Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from dashboard_scene import start_scene  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from yuantou.devnet.localnet import LocalNetwork  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def shoot(browser, proc, path: str, out: Path, wait_for: str, width: int = 1400) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    context.add_cookies([proc.login_cookie()])
    page = context.new_page()
    page.goto(proc.url + path)
    page.wait_for_selector(wait_for, timeout=30_000)
    time.sleep(2.5)  # every panel has polled once and its plots are drawn
    page.screenshot(path=str(out), full_page=True)
    context.close()
    print("wrote", out)


def main() -> None:
    net = LocalNetwork(Path(tempfile.mkdtemp(prefix="yuantou-shots-")))
    try:
        scene = start_scene(net, households=7)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            shoot(browser, scene.orchard, "/dashboard", HERE / "img" / "dashboard-overview.png",
                  "#ledger-verdict .pill.ok")
            shoot(browser, scene.orchard, "/dashboard/producer", HERE / "img" / "dashboard-producer.png",
                  "#plot-shadow .main-svg")
            shoot(browser, scene.organiser, "/dashboard/buyer", HERE / "img" / "dashboard-buyer.png",
                  "#plot-pools .main-svg")
            shoot(browser, net.directory, "/dashboard", HERE / "img" / "dashboard-directory.png",
                  "#plot-subscribers .main-svg")
            shoot(browser, scene.organiser, "/dashboard/buyer", HERE / "img" / "dashboard-buyer-phone.png",
                  "#plot-pools .main-svg", width=390)
            browser.close()
    finally:
        net.stop()


if __name__ == "__main__":
    main()
