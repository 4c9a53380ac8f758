"""What every command group shares: the consoles, failing with a clear message, calling a node's API."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error names a file and line: never broken across lines


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def load_node_files(config_path: Path):  # noqa: ANN202
    from yuantou.node.config import ConfigError
    from yuantou.node.launch import load_node
    from yuantou.producer.catalog_file import CatalogFileError
    from yuantou.protocol.keys import KeyError_

    try:
        return load_node(config_path)
    except (ConfigError, KeyError_, CatalogFileError) as exc:
        fail(str(exc))



def api_call(node: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """Call a buyer node's pooling API; a refusal is printed as the node states it, naming the field."""
    import httpx

    from yuantou.devnet.client import NodeClient

    try:
        resp = NodeClient(node.rstrip("/"), token).http.request(method, "/api" + path, json=body)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {node}: {exc}")
    data: Any = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {"detail": resp.text}
    if resp.status_code >= 400:
        error = data.get("error") or {}
        if error:
            fail(f"{error.get('code')}: {error.get('message')} (field: {error.get('path')})")
        detail = data.get("detail", data)
        if isinstance(detail, list):  # FastAPI's field errors: name each field and what is wrong with it
            detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
        fail(f"HTTP {resp.status_code}: {detail}")
    return data


def parse_window(text: str, option: str = "--window") -> tuple[str, str]:
    start, sep, end = text.partition("/")
    if not sep:
        fail(f"{option}: expected START/END")
    return start, end


NODE_OPTION = typer.Option("http://127.0.0.1:8001", "--node", help="the buyer node's base URL")
PRODUCER_OPTION = typer.Option("http://127.0.0.1:8002", "--node", help="the producer node's base URL")
TOKEN_OPTION = typer.Option(None, "--token", envvar="YUANTOU_API_TOKEN", help="the node's api_token (from its config)")



def follow_job(node: str, job: dict, token: Optional[str], label: str) -> dict:
    """Poll a node's job, drawing its progress, until it ends; a failed job is an error."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(label, total=None)
        while True:
            job = api_call(node, "GET", f"/jobs/{job['job_id']}", None, token)
            bar.update(task, total=job.get("total"), completed=job.get("done", 0))
            if job["state"] != "running":
                break
            time.sleep(0.3)
    if job["state"] != "done":
        fail(f"{label} failed on {node}: {job.get('error')}")
    return job

