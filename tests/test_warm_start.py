"""A process forked from the warm parent is what ``python -m yuantou.cli ...`` would have started."""

from __future__ import annotations

import os
import signal
import time

from yuantou.devnet.warm_start import start_cli


def test_a_forked_cli_run_gets_its_own_folder_log_and_exit_code(tmp_path):
    (tmp_path / "node.toml").write_text('subscriber_id = "x"\nroles = ["juggler"]\n')
    done = start_cli(["node", "serve", "--config", "node.toml"], cwd=tmp_path, env=dict(os.environ),
                     log_path=tmp_path / "run.log")
    assert done.wait(60) == 2  # the config is refused: the CLI's exit code, as a process of its own would give it
    log = (tmp_path / "run.log").read_text()
    assert "node.toml: url: Field required; roles.0:" in log and "Traceback" not in log, log  # read in its cwd


def test_a_forked_node_leads_its_own_session_reads_nothing_and_dies_by_its_group(tmp_path):
    process = start_cli(["directory", "serve", "--port", "0", "--db", f"sqlite:///{tmp_path / 'd.db'}",
                         "--key-dir", str(tmp_path / "keys")], cwd=tmp_path, env=dict(os.environ),
                        log_path=tmp_path / "directory.log")
    try:
        deadline = time.monotonic() + 30
        while os.getsid(process.pid) != process.pid:  # the child's first step
            assert time.monotonic() < deadline, "the forked process never started its own session"
            time.sleep(0.01)
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)  # a stop by killpg reaches it, not us
        assert os.readlink(f"/proc/{process.pid}/fd/0") == os.devnull  # workers it spawns can inherit fd 0
        assert process.poll() is None
    finally:
        os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(30) == -signal.SIGKILL
