"""Input checks shared by the API and the command line: one clear message per bad value."""
from __future__ import annotations

import difflib
import math
from typing import Any, Iterable


class ConfigError(ValueError):
    """A user-supplied value is not allowed. The message names the value and the allowed ones."""


def check_choice(what: str, value: Any, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if value in allowed:
        return
    close = difflib.get_close_matches(str(value), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {what} {value!r}{hint}; allowed: {', '.join(allowed)}")


def check_positive_int(what: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")


def check_positive(what: str, value: Any) -> None:
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{what} must be a positive finite number, got {value!r}")


def check_nonnegative(what: str, value: Any) -> None:
    try:
        ok = math.isfinite(float(value)) and float(value) >= 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{what} must be a finite number >= 0, got {value!r}")


def read_toml(path: str) -> dict:
    """The table in TOML file ``path`` (an option file, ``--config``); ``ConfigError`` in one line
    for a missing, unreadable, binary or malformed file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"--config {path!r}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path!r} is a folder; give a .toml file") from None
    except OSError as e:
        raise ConfigError(f"--config {path!r}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--config {path!r}: not valid TOML (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"--config {path!r}: not valid TOML: {e}") from None
