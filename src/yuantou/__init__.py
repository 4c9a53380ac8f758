"""Yuantou (源头): small producers and pooled buyers trading point to point over the Beckn protocol."""

__version__ = "0.1.0"  # the one place the version is written: pyproject.toml, the wheel and `yuantou --version` read it
