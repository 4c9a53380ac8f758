"""Starting a local network's processes from one warm parent instead of a fresh interpreter each.

A node's ``python -m yuantou.cli node serve`` spends ~2.5 s of a core importing FastAPI, SQLAlchemy, the
Beckn models and the solver before it reads its config; the demo starts five and the tests hundreds.
multiprocessing's forkserver imports all that once, in a clean single-threaded process, and forks each node
or directory from it: the child only reads its config, migrates its store and builds its app. The child is
otherwise what ``yuantou ... serve`` would be: its own session (so a stop reaches its workers), folder,
environment, log file and memory cap.

As with any multiprocessing start method but fork, a script that starts a local network must keep its work under
``if __name__ == "__main__":``: each child imports the script's main module first (the CLI, pytest and every
benchmark do).
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util  # registers its exit hook now, so that ours (below) runs before it
import os
import runpy
import signal
import subprocess
import sys
from multiprocessing.process import BaseProcess
from pathlib import Path

# what a node or the directory imports before serving; the forkserver imports it once
PRELOAD = ["yuantou.cli", "yuantou.cli.node", "yuantou.cli.directory", "yuantou.node.launch", "yuantou.node.app",
           "yuantou.node.bootstrap", "yuantou.directory.app", "uvicorn",
           "pydantic.v1"]  # FastAPI imports it as it builds the routes

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)
_started: list[BaseProcess] = []


class ForkedProcess:
    """The part of ``subprocess.Popen`` a local network uses, for a process the forkserver forked."""

    def __init__(self, process: BaseProcess, args: list[str]) -> None:
        self._process = process
        self.args = args

    @property
    def pid(self) -> int:
        assert self._process.pid is not None  # set by start()
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code once it ended (minus the signal's number when a signal ended it), as Popen's."""
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def __repr__(self) -> str:
        return f"<ForkedProcess pid={self._process.pid} returncode={self.returncode} args={self.args}>"


def start_cli(args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
              memory_limit_bytes: int | None = None) -> ForkedProcess:
    """Run ``yuantou <args>`` in a process forked from the warm parent; its output goes to ``log_path``."""
    process = _context.Process(target=_run_cli, args=(args, str(cwd), env, str(log_path), memory_limit_bytes),
                               name=" ".join(args[:2]))
    process.start()
    _started[:] = [*(p for p in _started if p.exitcode is None), process]
    return ForkedProcess(process, args)


def _run_cli(args: list[str], cwd: str, env: dict[str, str], log_path: str, memory_limit_bytes: int | None) -> None:
    """In the forked child: become what ``subprocess.Popen([python, -m, yuantou.cli, *args], ...)`` would start."""
    os.setsid()
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)  # first: what fails next is logged
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # multiprocessing gave sys.stdin a fresh descriptor, which uvicorn's worker processes cannot inherit: put it
    # back on descriptor 0 (reading nothing), as a process of its own would have it
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin.close()
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the process's own stdin, open while it runs)
    if memory_limit_bytes:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    sys.argv = ["yuantou", *args]
    runpy.run_module("yuantou.cli", run_name="__main__", alter_sys=True)  # what ``python -m yuantou.cli`` runs


@atexit.register
def _stop_left_over() -> None:
    """A caller that exits with processes still running (a test that failed before its stop) takes them along:
    multiprocessing would otherwise wait for them for ever. Registered after multiprocessing's own exit hook, so
    it runs first."""
    for process in _started:
        if process.exitcode is None and process.pid is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.join(10)
