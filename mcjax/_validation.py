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
