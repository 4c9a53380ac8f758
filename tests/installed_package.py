"""The package as people install it: the wheel and sdist that ``python -m build`` makes, the files each holds, and
a fresh virtual environment outside the checkout with the wheel installed (no ``-e``), whose ``yuantou`` runs in
folders of its own.

CI builds once and names the files in ``YUANTOU_WHEEL`` and ``YUANTOU_SDIST``; without them the tests build their own.
``YUANTOU_INSTALLED_VENV`` names a virtual environment that already holds the wheel, to try the tests again quickly.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "yuantou"


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path


def distributions(out: Path) -> Distributions:
    """CI's wheel and sdist, or new ones built into ``out`` the way CI builds them (the wheel from the sdist)."""
    wheel, sdist = os.environ.get("YUANTOU_WHEEL"), os.environ.get("YUANTOU_SDIST")
    if wheel and sdist:
        return Distributions(Path(wheel), Path(sdist))
    with _one_build_at_a_time():
        built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True,
                               text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return Distributions(next(out.glob("yuantou-*.whl")), next(out.glob("yuantou-*.tar.gz")))


@contextmanager
def _one_build_at_a_time() -> Iterator[None]:
    """setuptools writes the sdist's tree and egg-info into the checkout: two pytest workers building at once (without
    ``--dist loadfile``) would pull files from under each other."""
    with open(Path(tempfile.gettempdir()) / "yuantou-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def wheel_files(wheel: Path) -> set[str]:
    """The package's files in a wheel, as paths under ``yuantou/`` (its ``.dist-info`` left out)."""
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if name.startswith("yuantou/") and not name.endswith("/")}


def sdist_files(sdist: Path) -> set[str]:
    """The package's files in an sdist, as paths under ``yuantou/`` (the sdist keeps them under ``<name>/src/``)."""
    with tarfile.open(sdist) as archive:
        names = [PurePosixPath(member.name) for member in archive.getmembers() if member.isfile()]
    return {str(PurePosixPath(*name.parts[2:])) for name in names if name.parts[1:3] == ("src", "yuantou")}


def checkout_files() -> set[str]:
    """Every file of the package in the checkout, as paths under ``yuantou/``: what git tracks under src/yuantou."""
    listed = subprocess.run(["git", "ls-files", "-z", "src/yuantou"], cwd=ROOT, capture_output=True, check=True)
    return {name.removeprefix("src/") for name in listed.stdout.decode().split("\0") if name}


def missing(shipped: set[str], needed: set[str]) -> list[str]:
    return sorted(needed - shipped)


@dataclass(frozen=True)
class Installed:
    """A virtual environment holding the wheel, and nothing from the checkout."""

    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        """The environment of a shell in which the venv is activated: no PYTHONPATH pointing back at the checkout,
        and bytecode written on first import as in anyone's venv (pip was told not to compile it all ahead)."""
        left_out = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if k not in left_out}
        return env | {"PATH": f"{self.bin}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(self.venv),
                      "COLUMNS": "200"}

    def run(self, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / "yuantou"), *args], cwd=cwd, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def python(self, code: str, cwd: Path) -> str:
        done = subprocess.run([str(self.bin / "python"), "-c", code], cwd=cwd, env=self.env(), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, *args: str, cwd: Path) -> subprocess.Popen:
        """``yuantou <args>`` in the background, in its own session (so that a stop reaches its workers), its output
        in ``cwd/serve.log``."""
        with open(cwd / "serve.log", "ab") as log:
            return subprocess.Popen([str(self.bin / "yuantou"), *args], cwd=cwd, env=self.env(), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def install(wheel: Path, venv: Path) -> Installed:
    """A new virtual environment at ``venv`` with ``wheel`` and its dependencies installed as ``pip install`` does
    (from the index or pip's cache; ``--no-compile`` only skips writing bytecode ahead)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = Installed(venv)
    done = subprocess.run([str(installed.bin / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                           "--disable-pip-version-check", str(wheel)], cwd=venv, env=installed.env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return installed
