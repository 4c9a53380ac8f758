"""The walk-through, as a person runs it: ``yuantou tour`` trades end to end and reports what each node holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def test_tour_runs_every_flow_and_ends_with_the_table(tmp_path):
    result = subprocess.run([sys.executable, "-m", "yuantou.cli", "tour", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=240, env=os.environ | {"COLUMNS": "200"})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert len(re.findall(r"→ order [0-9a-f]{8} ACTIVE", out)) == 6, out
    assert re.search(r"accepted order [0-9a-f]{8} \(unsolicited on_status", out), out
    assert re.search(r"cancelled order [0-9a-f]{8} → CANCELLED", out), out
    assert re.search(r"100000 bags of rice → refused with .*'code': '40002'", out), out
    # 120 households pool into three pools; the orchard cannot supply all three, the mill takes the rest
    pooled = out.split("pooled demand", 1)[1]
    assert len(re.findall(r"pool at \S+: 40 households, \d+ kg at 8\.00/kg → \w", pooled)) == 3, pooled
    # the node counts what the first two pools took of the orchard's window: the third goes to the mill at once
    assert re.search(r"→ mill \d+ kg \(order [0-9a-f]{8}\)\n", pooled) and "refused" not in pooled, pooled
    assert len(re.findall(r"pick list \S+: 40 households, \d+ kg from (orchard|mill)", pooled)) == 3, pooled
    assert re.search(r"purchase list orchard: 2 orders", pooled) and re.search(r"purchase list mill: 1 order,", pooled)
    assert re.search(r"orchard packed its orders → household \S+ sees: \d+ kg at 8\.00 = [\d.]+ CNY, \S+, packed", pooled)
    # the table: each node's own holdings, the directory none
    assert re.search(r"directory\s*│ registry, gateway .* none, by design", out), out
    for node in ("orchard", "dairy", "mill", "buyer1", "buyer2"):
        assert re.search(rf"│ {node}\s+│", out), node
    assert re.search(r"buyer2\s+│ buyer\s+│ .*1 cancelled", out), out


def demo(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yuantou.cli", "demo", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ | {"COLUMNS": "160"})


def test_demo_replays_car_parts_through_nodes_and_compares_with_a_platform(tmp_path):
    report = tmp_path / "report.html"
    result = demo("--days", "3", "--products", "4", "--regions", "2", "--producers", "2", "--warmup", "24",
                  "--report", str(report), "--data-dir", str(tmp_path / "nodes"))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "car-part sales, 2,674 parts × 51 months" in out
    dashboards = out.index("Dashboards")
    assert re.search(r"community-region-1\s+http://127\.0\.0\.1:\d+/dashboard/buyer\s+token \S{32}", out), out
    table = out.index("The same demand (3 days")
    assert dashboards < table
    figures = {}
    for label in ("fill rate", "units wasted", "producer share of the", "consumer price per unit"):
        row = re.search(rf"│ {label}[^│]*│\s+([\d.,%]+)\s+│\s+([\d.,%]+)\s+│", out)
        assert row, (label, out)
        figures[label] = [float(v.strip("%").replace(",", "")) for v in row.groups()]
    platform, network = zip(*figures.values())
    assert 0 < platform[0] <= 100 and 0 < network[0] <= 100  # fill rates
    assert figures["producer share of the"][0] == 80.0  # the platform's 20 % commission, by definition
    assert re.search(r"pools: [\d,]+ opened, [\d,]+ bought in full.*ledgers: [\d,]+ entries, all verified", out), out
    html = report.read_text()
    assert all(f'id="fig{i}"' in html for i in range(6)) and "Assumptions" in html and "CC BY 4.0" in html
    assert "commission = 0.2" in html and "Plotly" in html


def test_demo_takes_a_users_own_history(tmp_path):
    csv = tmp_path / "sales.csv"
    csv.write_text("date,region,product,quantity\n" + "".join(
        f"2026-03-{d:02d},{region},{product},{q}\n" for d in range(1, 5) for region, product, q in
        (("north", "apples", 10 + d), ("south", "apples", 7), ("north", "pears", 4 + d % 2))))
    result = demo("--demand", str(csv), "--warmup", "3", "--producers", "1", "--report", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sales.csv: 12 rows, 4 periods × 2 products × 2 regions" in result.stdout
    assert "The same demand (1 day," in result.stdout and "all verified" in result.stdout


def test_demo_refuses_bad_input_clearly(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,region,product,quantity\n2026-03-01,north,apples,many\n")
    result = demo("--demand", str(bad))
    assert result.returncode == 2 and f"{bad}:2: column 'quantity': 'many' is not a number" in result.stdout
    result = demo("--commission", "1.5", "--moq", "0")
    assert result.returncode == 2
    assert "--commission: must be at least 0 and below 1" in result.stdout and "--moq: must be at least 1" in result.stdout
    result = demo("--days", "99")
    assert result.returncode == 2 and "--days: must be between 1 and 39" in result.stdout
    for r in (result,):
        assert "Traceback" not in r.stdout + r.stderr


def test_a_stopped_demo_stops_its_nodes(tmp_path):
    """SIGTERM (a kill, a CI timeout) stops the demo like Ctrl-C: no node outlives it."""
    import signal
    import time

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "yuantou.cli", "demo", "--products", "2", "--regions", "1",
                             "--producers", "1", "--data-dir", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=os.environ | {"COLUMNS": "200"})
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "producer-1 " in line and "/dashboard/producer" in line:
            break
    urls = re.findall(r"(http://127\.0\.0\.1:\d+)/dashboard", "".join(lines))
    assert len(urls) == 3, lines  # directory, one organiser, one producer
    assert all(httpx.get(u + "/login", timeout=5).status_code == 200 for u in urls)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: stopping the network" in out, out
    time.sleep(1)
    for url in urls:
        try:
            httpx.get(url + "/login", timeout=2)
        except httpx.HTTPError:
            continue
        raise AssertionError(f"{url} still answers after the demo stopped")
