"""Reading JSON from strangers: bounded nesting, no duplicate keys, finite numbers of sane size.

A signed body is stored and later re-read by ``ledger verify``; both must read the same thing, so a body
with two ``context`` keys (even one written ``"\\u0063ontext"``) is refused on arrival instead of being read
as the last by one parser and the first by another. Depth is checked on the raw bytes before any parser
recurses into them (Python's own parser gives up at about 1,000 levels with a ``RecursionError``).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32  # Beckn's deepest core objects (a catalog's item tags) sit about 10 levels down
MAX_INTEGER_DIGITS = 18  # a JSON integer beyond this is no quantity, price or count of ours

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = bytes(1 if b in b"[{" else 0 for b in range(256))  # opening bracket → 1, closing → 0


class JsonProblem(ValueError):
    """Why a body was refused, and where (a JSON path, ``$`` for the whole body)."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(message)
        self.message, self.path = message, path


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (strings skipped), without parsing it."""
    # drop escaped backslashes, then escaped quotes: every quote left opens or closes a string, so the pieces
    # between them alternate outside and inside strings (C-speed splits; a regex over strings is 3x slower)
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in body else body
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    depth = deepest = 0
    for opening in brackets.translate(_STEP):
        depth += 1 if opening else -1
        if depth > deepest:
            deepest = depth
    return deepest


def check_depth(body: bytes, max_depth: int = MAX_DEPTH) -> None:
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return  # too few brackets to be too deep: the common case costs two counts
    depth = nesting_depth(body)
    if depth > max_depth:
        raise JsonProblem(f"JSON nested {depth} levels deep; at most {max_depth} are accepted")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise JsonProblem(f"key {twice!r} appears twice in one object (escaped or not); send it once")
    return obj


def _constant(name: str) -> Any:
    raise JsonProblem(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem(f"number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonProblem(f"integer {text[:40]}… has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _strict(raw: bytes, max_depth: int) -> Any:
    """The parse both readers share; a syntax error stays ``json.JSONDecodeError`` (with its line)."""
    check_depth(raw, max_depth)
    try:
        return json.loads(raw, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float,
                          parse_int=_int)
    except RecursionError:
        raise JsonProblem("JSON nested too deeply") from None


def loads(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a stranger's JSON, or raise ``JsonProblem`` saying what is wrong with it."""
    raw = body.encode() if isinstance(body, str) else body
    try:
        return _strict(raw, max_depth)
    except JsonProblem:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonProblem(f"body is not JSON: {exc}") from None


def document(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a JSON file a person hands over (a catalog, a twin, an evidence bundle) as strictly as a peer's body,
    saying the line of a syntax error: ``JsonProblem`` either way, never a RecursionError."""
    try:
        return _strict(text.encode(), max_depth)
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"line {exc.lineno}: not JSON ({exc.msg})") from None


def finite(value: Any) -> Any:
    """``value`` with every NaN and infinity (floats or numpy scalars) replaced by ``None``: what JSON can say
    of a bound that does not exist (``json.dumps`` would write ``Infinity``, which no JSON reader takes)."""
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
