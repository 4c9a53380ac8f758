"""Network sourcing (capacitated facility location on HiGHS) against published optima and brute force."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.plan.facility_files import InstanceError, read_holmberg, read_instance, read_orlib_cap
from yuantou.plan.network_sourcing import Network, NetworkInfeasible, NetworkPlan, solve

PLANNING = SHARED / "planning"


def published_cap() -> dict[str, float]:
    lines = (PLANNING / "orlib_cap/bounds_FacilityLocationProblems.jl.txt").read_text().splitlines()
    return {line.split()[0]: float(line.split()[2]) for line in lines if line.strip()}


def published_holmberg() -> list[float]:
    return [float(v) for v in (PLANNING / "sscflp_holmberg/os").read_text().split()]


CAP_NAMES = sorted(f.stem for f in (PLANNING / "orlib_cap").glob("cap[0-9]*.txt"))


def test_every_or_library_cap_instance_reaches_its_published_optimum():
    optima = published_cap()
    assert len(CAP_NAMES) == 37
    for name in CAP_NAMES:
        net = read_orlib_cap((PLANNING / f"orlib_cap/{name}.txt").read_text(), name)
        plan = solve(net)
        assert isinstance(plan, NetworkPlan) and plan.optimal, name
        assert plan.cost == pytest.approx(optima[name], abs=2e-3), name  # published to 3 decimals
        # the plan itself is feasible: every pool served, capacities and open producers respected
        assert np.allclose(plan.assignment.sum(axis=0), 1, atol=1e-6)
        load = plan.assignment @ net.demand
        assert (load <= net.capacity + 1e-6).all()
        closed = np.setdiff1d(np.arange(net.shape[0]), plan.open)
        assert np.allclose(plan.assignment[closed], 0, atol=1e-6)
        recomputed = net.fixed_cost[plan.open].sum() + (net.cost * plan.assignment).sum()
        assert recomputed == pytest.approx(plan.cost, rel=1e-9)


# The 100 x 1000 instances (capa, capb, capc at their given capacities) take HiGHS 20-270 s each here: they are
# solved to their published optima by ``bench/planning.py``, which also reads the placeholder capacities.


@pytest.mark.parametrize("k", range(1, 13))
def test_holmberg_single_source_instances_reach_their_published_optima(k):
    net = read_holmberg((PLANNING / f"sscflp_holmberg/p{k}").read_text(encoding="latin-1"), f"p{k}")
    plan = solve(net, single_source=True)
    assert isinstance(plan, NetworkPlan) and plan.optimal
    assert plan.cost == pytest.approx(published_holmberg()[k - 1], abs=1e-6)
    assert set(np.unique(np.round(plan.assignment, 6))) <= {0.0, 1.0}  # one producer per pool


@st.composite
def small_networks(draw):
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    ints = lambda lo, hi, size: np.array(draw(st.lists(st.integers(lo, hi), min_size=size, max_size=size)), float)  # noqa: E731
    return Network(ints(5, 40, m), ints(0, 50, m), ints(1, 15, n), ints(1, 60, m * n).reshape(m, n))


@settings(max_examples=60, deadline=None)
@given(small_networks())
def test_single_source_plans_are_optimal_against_brute_force(net):
    m, n = net.shape
    best = None
    for choice in itertools.product(range(m), repeat=n):
        load = np.bincount(choice, weights=net.demand, minlength=m)
        if (load <= net.capacity).all():
            used = sorted(set(choice))
            cost = net.fixed_cost[used].sum() + sum(net.cost[i, j] for j, i in enumerate(choice))
            best = cost if best is None else min(best, cost)
    plan = solve(net, single_source=True)
    if best is None:
        assert isinstance(plan, NetworkInfeasible)
    else:
        assert isinstance(plan, NetworkPlan) and plan.cost == pytest.approx(best, abs=1e-6)


def test_infeasible_networks_say_which_constraint_binds():
    short = Network(np.array([10.0, 10.0]), np.zeros(2), np.array([8.0, 8.0, 8.0]), np.ones((2, 3)))
    assert solve(short).code == "capacity" and "20" in solve(short).reason
    lumpy = Network(np.array([10.0, 10.0]), np.zeros(2), np.array([12.0, 2.0]), np.ones((2, 2)))
    assert isinstance(solve(lumpy), NetworkPlan)  # split across two producers it fits
    refused = solve(lumpy, single_source=True)
    assert refused.code == "single_source" and "pool 0 needs 12" in refused.reason
    packing = Network(np.array([10.0, 10.0]), np.zeros(2), np.array([6.0, 6.0, 6.0]), np.ones((2, 3)))
    assert solve(packing, single_source=True).code == "single_source"


def test_bad_files_name_the_line_and_what_was_expected(tmp_path):
    good = (PLANNING / "orlib_cap/cap41.txt").read_text()
    with pytest.raises(InstanceError, match=r"cap41: line 217: file ends where customer 50's cost from facility 16"):
        read_orlib_cap(good.rsplit(maxsplit=1)[0], "cap41")
    with pytest.raises(InstanceError, match=r"x: line 3: facility 2's fixed cost should be a number, found 'abc'"):
        read_orlib_cap("2 1\n10 5\n10 abc\n3 1 1\n", "x")
    with pytest.raises(InstanceError, match=r"line 2: facility 1's capacity is the placeholder 'capacity'"):
        read_orlib_cap((PLANNING / "orlib_cap/capa.txt").read_text(), "capa")
    with pytest.raises(InstanceError, match=r"line 4: unexpected '7'"):
        read_orlib_cap("1 1\n10 5\n3 1\n7\n", "x")
    with pytest.raises(InstanceError, match=r"should be a non-negative number, found '-4'"):
        read_holmberg("1 1\n10 5\n-4\n1\n", "x")


def test_the_command_line_prints_the_plan_as_json_and_refuses_bad_files_clearly(tmp_path):
    run = lambda *args: subprocess.run([sys.executable, "-m", "yuantou.cli", "plan", "sourcing", *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    done = run(str(PLANNING / "sscflp_holmberg/p3"), "--single-source")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["cost"] == published_holmberg()[2] and plan["optimal"] and plan["single_source"]
    assert all(len(shares) == 1 for shares in plan["assignment"].values())
    assert sorted({int(i) for shares in plan["assignment"].values() for i in shares}) == plan["open"]
    placeholder = run(str(PLANNING / "orlib_cap/capc.txt"))
    assert placeholder.returncode == 2 and "--capacity N" in placeholder.stderr and "Traceback" not in placeholder.stderr
    broken = tmp_path / "broken.txt"
    broken.write_text("3 2\n10 5\n")
    refused = run(str(broken), "--format", "orlib-cap")
    assert refused.returncode == 2 and "broken.txt: line 2: file ends where facility 2's capacity" in refused.stderr
    missing = run(str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "nope.txt" in missing.stderr


def test_the_one_call_numpy_reader_and_the_careful_reader_agree_on_every_shared_file(monkeypatch):
    from yuantou.plan import facility_files

    files = sorted((PLANNING / "orlib_cap").glob("cap*.txt")) + sorted((PLANNING / "sscflp_holmberg").glob("p*"))
    assert len(files) == 40 + 70
    for f in files:
        text = f.read_text(encoding="latin-1")
        fmt = facility_files.guess_format(text)
        assert fmt == ("holmberg" if f.parent.name == "sscflp_holmberg" else "orlib-cap"), f.name
        capacity = 7000 if f.stem in ("capa", "capb", "capc") else None
        fast = read_instance(text, f.name, fmt, capacity)
        with monkeypatch.context() as patched:
            patched.setattr(facility_files, "_numbers", lambda *args: None)
            careful = read_instance(text, f.name, fmt, capacity)
        for field in ("capacity", "fixed_cost", "demand", "cost"):
            assert np.array_equal(getattr(fast, field), getattr(careful, field)), (f.name, field)
