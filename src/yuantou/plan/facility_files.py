"""Reading capacitated facility-location instances (OR-Library ``cap*``, Holmberg ``p*``) into a ``Network``.

OR-Library (Beasley 1988): ``m n``; m lines ``capacity fixed_cost`` (capa/capb/capc hold the
word ``capacity`` instead of a number: the instance is one file for four capacities); then
per customer its demand followed by m costs of serving all of it from each facility.
Holmberg et al. (1999): ``m n``; m lines ``capacity fixed_cost``; n demands; an m × n cost
matrix, row by facility. Some published copies end in NUL padding, which is ignored.

A file that does not match says where: the file, the line and what was expected there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from yuantou.plan.network_sourcing import Network

FORMATS = ("orlib-cap", "holmberg")


class InstanceError(ValueError):
    pass


class _Tokens:
    """Whitespace-separated tokens with the line each came from."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.items = [(token, number) for number, line in enumerate(text.replace("\x00", "").splitlines(), 1)
                      for token in line.split()]
        self.at = 0

    def take(self, what: str, placeholder: float | None = None, placeholder_word: str | None = None) -> float:
        if self.at >= len(self.items):
            last = self.items[-1][1] if self.items else 0
            raise InstanceError(f"{self.name}: line {last}: file ends where {what} was expected")
        token, line = self.items[self.at]
        self.at += 1
        if placeholder_word is not None and token == placeholder_word:
            if placeholder is None:
                raise InstanceError(f"{self.name}: line {line}: {what} is the placeholder {token!r}; "
                                    f"give the capacity to use (--capacity N)")
            return placeholder
        try:
            value = float(token)
        except ValueError:
            raise InstanceError(f"{self.name}: line {line}: {what} should be a number, found {token!r}") from None
        if not np.isfinite(value) or value < 0:
            raise InstanceError(f"{self.name}: line {line}: {what} should be a non-negative number, found {token!r}")
        return value

    def count(self, what: str) -> int:
        line = self.items[self.at][1] if self.at < len(self.items) else 0
        value = self.take(what)
        if value != int(value) or value < 1:
            raise InstanceError(f"{self.name}: line {line}: {what} should be a positive whole number")
        return int(value)

    def finish(self) -> None:
        if self.at < len(self.items):
            token, line = self.items[self.at]
            raise InstanceError(f"{self.name}: line {line}: unexpected {token!r} after the last cost")


def _numbers(text: str, capacity: float | None, size: Callable[[int, int], int]) -> np.ndarray | None:
    """Every token as a float in one numpy call, if the file is well formed; None sends it to the
    token-by-token reader, which says what is wrong and where."""
    tokens = text.replace("\x00", "").split()
    if capacity is not None:
        tokens = [str(capacity) if token == "capacity" else token for token in tokens]
    try:
        values = np.array(tokens, dtype=float)
    except ValueError:
        return None
    if len(values) < 2 or not np.isfinite(values).all() or (values < 0).any():
        return None
    m, n = values[0], values[1]
    if m != int(m) or n != int(n) or m < 1 or n < 1 or len(values) != size(int(m), int(n)):
        return None
    return values


def read_orlib_cap(text: str, name: str = "instance", capacity: float | None = None) -> Network:
    values = _numbers(text, capacity, lambda m, n: 2 + 2 * m + n * (m + 1))
    if values is not None:
        m, n = int(values[0]), int(values[1])
        customers = values[2 + 2 * m:].reshape(n, m + 1)
        return Network(values[2:2 + 2 * m:2].copy(), values[3:2 + 2 * m:2].copy(), customers[:, 0].copy(),
                       np.ascontiguousarray(customers[:, 1:].T))
    tokens = _Tokens(text, name)
    m, n = tokens.count("the number of facilities"), tokens.count("the number of customers")
    caps, fixed = np.empty(m), np.empty(m)
    for i in range(m):
        caps[i] = tokens.take(f"facility {i + 1}'s capacity", capacity, "capacity")
        fixed[i] = tokens.take(f"facility {i + 1}'s fixed cost")
    demand, cost = np.empty(n), np.empty((m, n))
    for j in range(n):
        demand[j] = tokens.take(f"customer {j + 1}'s demand")
        for i in range(m):
            cost[i, j] = tokens.take(f"customer {j + 1}'s cost from facility {i + 1}")
    tokens.finish()
    return Network(caps, fixed, demand, cost)


def read_holmberg(text: str, name: str = "instance") -> Network:
    values = _numbers(text, None, lambda m, n: 2 + 2 * m + n + m * n)
    if values is not None:
        m, n = int(values[0]), int(values[1])
        return Network(values[2:2 + 2 * m:2].copy(), values[3:2 + 2 * m:2].copy(),
                       values[2 + 2 * m:2 + 2 * m + n].copy(), values[2 + 2 * m + n:].reshape(m, n).copy())
    tokens = _Tokens(text, name)
    m, n = tokens.count("the number of facilities"), tokens.count("the number of customers")
    caps, fixed = np.empty(m), np.empty(m)
    for i in range(m):
        caps[i] = tokens.take(f"facility {i + 1}'s capacity")
        fixed[i] = tokens.take(f"facility {i + 1}'s fixed cost")
    demand = np.array([tokens.take(f"customer {j + 1}'s demand") for j in range(n)])
    cost = np.array([[tokens.take(f"the cost of facility {i + 1} serving customer {j + 1}") for j in range(n)]
                     for i in range(m)])
    tokens.finish()
    return Network(caps, fixed, demand, cost)


def read_instance(text: str, name: str, fmt: str, capacity: float | None = None) -> Network:
    if fmt == "orlib-cap":
        return read_orlib_cap(text, name, capacity)
    if fmt == "holmberg":
        if capacity is not None:
            raise InstanceError(f"{name}: --capacity applies to OR-Library files only")
        return read_holmberg(text, name)
    raise InstanceError(f"{name}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def guess_format(text: str) -> str:
    """OR-Library puts each customer's demand on a line of its own, right after the facilities;
    Holmberg follows them with a line of many demands."""
    lines = [line for line in text.replace("\x00", "").splitlines() if line.strip()]
    try:
        m = int(lines[0].split()[0])
        after = lines[1 + m].split()
    except (IndexError, ValueError):
        return "orlib-cap"  # let the reader say what is wrong, and where
    return "orlib-cap" if len(after) == 1 else "holmberg"
