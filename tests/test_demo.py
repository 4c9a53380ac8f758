"""The main job, as a person runs it: ``yuantou demo`` trades end to end and reports what each node holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def test_demo_runs_every_flow_and_ends_with_the_table(tmp_path):
    result = subprocess.run([sys.executable, "-m", "yuantou.cli", "demo", "--data-dir", str(tmp_path)],
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
    assert re.search(r"→ mill \d+ kg \(order [0-9a-f]{8}\); orchard refused \(40002 .*\), re-sourced", pooled), pooled
    assert len(re.findall(r"pick list \S+: 40 households, \d+ kg from (orchard|mill)", pooled)) == 3, pooled
    assert re.search(r"purchase list orchard: 2 orders", pooled) and re.search(r"purchase list mill: 1 order,", pooled)
    assert re.search(r"orchard packed its orders → household \S+ sees: \d+ kg at 8\.00 = [\d.]+ CNY, \S+, packed", pooled)
    # the table: each node's own holdings, the directory none
    assert re.search(r"directory\s*│ registry, gateway .* none, by design", out), out
    for node in ("orchard", "dairy", "mill", "buyer1", "buyer2"):
        assert re.search(rf"│ {node}\s+│", out), node
    assert re.search(r"buyer2\s+│ buyer\s+│ .*1 cancelled", out), out
