"""C2M jobs live in the store: every worker process answers for every job, and a job whose process died is
reported as failed, not left running forever."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import numpy as np
from conftest import storage
from typer.testing import CliRunner

from yuantou.cli import app
from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document
from yuantou.producer import jobs


def test_a_job_is_read_back_and_a_silent_one_is_lost(db):
    job = db.transaction(lambda c: jobs.create(c, "forecast", now=1_000.0))
    assert job["state"] == "running" and job["done"] == 0
    db.transaction(lambda c: jobs.beat(c, job["job_id"], {"done": 3, "total": 7}, now=1_010.0))
    seen = db.transaction(lambda c: jobs.read(c, job["job_id"], now=1_020.0))
    assert (seen["state"], seen["done"], seen["total"]) == ("running", 3, 7)
    lost = db.transaction(lambda c: jobs.read(c, job["job_id"], now=1_010.0 + jobs.LOST_AFTER_SECONDS + 1))
    assert lost["state"] == "failed" and lost["error"] == jobs.LOST
    db.transaction(lambda c: jobs.finish(c, job["job_id"], {"done": 7, "total": 7}, "forecast-1", None))
    assert db.transaction(lambda c: jobs.read(c, job["job_id"]))["state"] == "done"
    assert db.transaction(lambda c: jobs.read(c, "no-such-job")) is None


def test_with_two_workers_every_process_answers_for_every_job(tmp_path):
    net = LocalNetwork(tmp_path, database=storage())
    try:
        net.start_directory()
        name, items = PRODUCERS["orchard"]
        orchard = net.add_node("orchard", ["producer"], catalog_document("orchard", name, items),
                               extra={"workers": 2})
        api = {"Authorization": f"Bearer {orchard.token}"}
        rng = np.random.default_rng(5)
        today = date.today()
        history = [{"product": "apple-fuji-a", "region": "r", "day": (today - timedelta(days=k)).isoformat(),
                    "quantity": float(rng.poisson(20))} for k in range(1, 60)]
        assert httpx.post(orchard.url + "/api/demand/history", json=history, headers=api).status_code == 200
        job = httpx.post(orchard.url + "/api/forecast/run", json={"horizon": 7}, headers=api).json()
        # a fresh connection each time: the kernel hands them to either worker
        answers = [httpx.get(f"{orchard.url}/api/jobs/{job['job_id']}", headers=api).status_code for _ in range(20)]
        assert answers == [200] * 20, answers
        done = CliRunner().invoke(app, ["forecast", "run", "--node", orchard.url, "--token", orchard.token,
                                        "--horizon", "7"])
        assert done.exit_code == 0, done.output
        assert "1 series × 7 days stored" in done.output
    finally:
        net.stop()


def test_a_page_opened_while_jobs_run_finds_them_and_not_those_ended_or_lost(db):
    """The planning page follows the jobs still running: a reload, or a page served by another worker."""
    started = db.transaction(lambda c: jobs.create(c, "forecast", now=1000.0))
    ended = db.transaction(lambda c: jobs.create(c, "plan", now=1001.0))
    db.transaction(lambda c: jobs.finish(c, ended["job_id"], {"done": 1, "total": 1}, "run-1", None))
    db.transaction(lambda c: jobs.create(c, "plan", now=900.0))  # lost: its process stopped beating at 900
    following = db.transaction(lambda c: jobs.running(c, now=1010.0))
    assert [j["job_id"] for j in following] == [started["job_id"]]  # not the ended one, nor the lost one
