"""From nothing to trading with ``yuantou init`` and ``yuantou node serve`` alone: real processes on 127.0.0.1,
a real directory, no hand-written file."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
from beckn_peer import wait_for

from yuantou.devnet.localnet import LocalNetwork, free_port
from yuantou.devnet.warm_start import ForkedProcess, start_cli
from yuantou.node.init_files import InitProblem, NewNode, write_node
from yuantou.node.place_defaults import city_of, country_of

CLI = [sys.executable, "-m", "yuantou.cli"]
pytestmark = pytest.mark.sqlite_only  # init writes a SQLite node; the store backends are tested elsewhere


def init(folder: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "init", "--dir", str(folder), *flags], capture_output=True, text=True, timeout=60,
                          cwd=folder.parent, env=os.environ | {"COLUMNS": "200"})


def serve(folder: Path) -> ForkedProcess:
    return start_cli(["node", "serve", "--config", "node.toml"], cwd=folder, env=dict(os.environ),
                     log_path=folder / "serve.log")


def log_of(folder: Path) -> str:
    path = folder / "serve.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_init_twice_serve_twice_and_the_organiser_finds_the_producers_offers(tmp_path):
    (tmp_path / "net").mkdir()
    net = LocalNetwork(tmp_path / "net")
    started: list[ForkedProcess] = []
    try:
        directory = net.start_directory()
        producer_port, buyer_port, far_port = free_port(), free_port(), free_port()
        made = init(tmp_path / "orchard", "--yes", "--role", "producer", "--name", "山坡果园合作社",
                    "--id", "orchard.example.cn", "--port", str(producer_port), "--directory", directory.url,
                    "--place", "山东烟台")
        assert made.returncode == 0, made.stderr
        assert "answers; the node subscribes itself" in made.stdout and "token:" in made.stdout
        config = tomllib.loads((tmp_path / "orchard" / "node.toml").read_text())
        assert (config["city"], config["country"], config["time_zone"]) == ("std:021", "CHN", "Asia/Shanghai")
        token = config["api_token"]
        assert token in made.stdout

        started.append(serve(tmp_path / "orchard"))
        assert wait_for(lambda: "subscribed to" in log_of(tmp_path / "orchard"), timeout=60)
        banner = log_of(tmp_path / "orchard")
        assert "Yuantou node orchard.example.cn (producer)" in banner
        assert f"dashboard     http://127.0.0.1:{producer_port}/dashboard" in banner
        assert "reachable; subscribing this node once it is up" in banner
        listed = httpx.post(directory.url + "/lookup", json={"subscriber_id": "orchard.example.cn"}).json()
        assert [e["type"] for e in listed] == ["BPP"] and listed[0]["location"]["city"]["code"] == "std:021"

        assert init(tmp_path / "organiser", "--yes", "--role", "buyer", "--name", "Happy Garden",
                    "--port", str(buyer_port), "--directory", directory.url).returncode == 0
        organiser_config = tomllib.loads((tmp_path / "organiser" / "node.toml").read_text())
        assert organiser_config["subscriber_id"] == "happy-garden.yuantou.local"
        started.append(serve(tmp_path / "organiser"))
        assert wait_for(lambda: "subscribed to" in log_of(tmp_path / "organiser"), timeout=60)
        assert "WARNING" not in log_of(tmp_path / "organiser")  # the directory lists a producer in its city

        # it trades: the organiser's offers hold the producer's sample catalog, named and placed
        api = httpx.Client(base_url=f"http://127.0.0.1:{buyer_port}/api", timeout=10,
                           headers={"Authorization": f"Bearer {organiser_config['api_token']}"})
        assert api.post("/offers/refresh").json()["last_refresh"]["producers_listed"] == ["orchard.example.cn"]
        assert wait_for(lambda: "红富士苹果 Fuji apples, grade A" in {o["name"] for o in api.get("/offers").json()["offers"]})
        console = httpx.get(f"http://127.0.0.1:{buyer_port}/dashboard/organiser/offers",
                         cookies={"yuantou_session": ""}, follow_redirects=False)
        assert console.status_code in (303, 401)  # its console is behind its token

        found = subprocess.run([*CLI, "search", "apple", "--node", f"http://127.0.0.1:{buyer_port}", "--token",
                                organiser_config["api_token"], "--wait", "3"], capture_output=True, text=True,
                               timeout=60, env=os.environ | {"COLUMNS": "250"})
        assert found.returncode == 0, found.stderr
        assert "orchard.example.cn" in found.stdout and "apple-fuji-a" in found.stdout and "8.5 CNY" in found.stdout

        # a node left at another city's code is warned at start that it will find nobody
        assert init(tmp_path / "far", "--yes", "--role", "buyer", "--name", "Far Away", "--city", "std:080",
                    "--port", str(far_port), "--directory", directory.url).returncode == 0
        started.append(serve(tmp_path / "far"))
        assert wait_for(lambda: "subscribed to" in log_of(tmp_path / "far"), timeout=60)
        assert "WARNING       the directory lists no producer of yuantou:agri in std:080" in log_of(tmp_path / "far")
        far_token = tomllib.loads((tmp_path / "far" / "node.toml").read_text())["api_token"]
        nobody = subprocess.run([*CLI, "search", "apple", "--node", f"http://127.0.0.1:{far_port}", "--token",
                                 far_token, "--wait", "1"], capture_output=True, text=True, timeout=60)
        assert nobody.returncode == 1 and "no producer answered within 1 s" in nobody.stdout
    finally:
        for process in started:
            os.killpg(process.pid, 15)
        for process in started:
            process.wait(30)
        net.stop()


def test_init_asks_what_no_flag_gives_and_refuses_what_cannot_work(tmp_path):
    answers = "producer\nRiverside Mill\nhttp://mill.example.cn:8201\n\n\n\n\nhttp://127.0.0.1:9\n湖南益阳\n"
    asked = subprocess.run([*CLI, "init", "--dir", str(tmp_path / "mill")], input=answers, capture_output=True,
                           text=True, timeout=60)
    assert asked.returncode == 0, asked.stdout + asked.stderr
    config = tomllib.loads((tmp_path / "mill" / "node.toml").read_text())
    assert config["subscriber_id"] == "mill.example.cn" and config["url"] == "http://mill.example.cn:8201/beckn"
    assert config["provider_place"] == "湖南益阳" and "NOT REACHABLE" in asked.stdout

    again = init(tmp_path / "mill", "--yes", "--role", "producer", "--name", "x", "--directory", "http://127.0.0.1:9")
    assert again.returncode != 0 and "already holds a node" in again.stderr  # its keys are never overwritten
    utc = init(tmp_path / "utc", "--yes", "--role", "buyer", "--name", "x", "--time-zone", "UTC",
               "--directory", "http://127.0.0.1:9")
    assert utc.returncode != 0 and "--city: give the Beckn city code" in utc.stderr and "Traceback" not in utc.stderr
    assert not (tmp_path / "utc").exists()


def test_defaults_follow_the_time_zone_and_bad_choices_name_their_option(tmp_path):
    assert (country_of("Asia/Shanghai"), city_of("Asia/Shanghai")) == ("CHN", "std:021")
    assert (country_of("PRC"), country_of("Asia/Kolkata"), country_of("Europe/Berlin")) == ("CHN", "IND", "DEU")
    assert country_of("UTC") is None and city_of("Europe/Berlin") is None
    good = NewNode(("producer",), "Mill", "mill.local", "http://127.0.0.1:8201", "127.0.0.1", 8201, "Asia/Shanghai",
                   "yuantou:agri", "std:0737", "CHN", "sqlite:///node.db", "http://127.0.0.1:8000")
    for option, bad in (("--role", {"roles": ("seller",)}), ("--time-zone", {"time_zone": "Mars/Olympus"}),
                        ("--country", {"country": "China"}), ("--url", {"public_url": "mill.local"}),
                        ("--directory", {"directory_url": "ftp://x"})):
        with pytest.raises(InitProblem) as refused:
            write_node(tmp_path / option.strip("-"), NewNode(**{**good.__dict__, **bad}), __import__("datetime")
                       .datetime.now(__import__("datetime").UTC))
        assert refused.value.option == option
