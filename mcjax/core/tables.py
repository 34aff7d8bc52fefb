"""Plain-text tables, rendered one way everywhere (results, analysis, benchmarks)."""
from __future__ import annotations

from typing import Sequence

__all__ = ["render_table"]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "left",
                 footer: str | None = None) -> str:
    """``header`` and ``rows`` of strings as aligned columns separated by ``" | "``, a ``-+-``
    rule under the header, and an optional ``footer`` line.

    Args:
      align: ``"left"`` (text) or ``"right"`` (numbers).

    Example:
      >>> print(render_table(["a", "bb"], [["1", "2"]]))
      a | bb
      --+---
      1 | 2
    """
    if align not in ("left", "right"):
        raise ValueError(f"align must be 'left' or 'right', got {align!r}")
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]
    pad = str.ljust if align == "left" else str.rjust
    line = lambda cells: " | ".join(pad(c, w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows]
    return "\n".join(out + ([footer] if footer else []))
