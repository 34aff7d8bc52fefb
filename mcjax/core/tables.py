"""Plain-text tables, rendered one way everywhere (results, analysis, benchmarks)."""
from __future__ import annotations

import csv
import io
from typing import Sequence

__all__ = ["render_table", "TABLE_FORMATS"]


TABLE_FORMATS = ("text", "markdown", "latex", "csv")
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "left",
                 footer: str | None = None, fmt: str = "text") -> str:
    """``header`` and ``rows`` of strings as a table.

    Args:
      align: ``"left"`` (text) or ``"right"`` (numbers).
      footer: a line under the table (a caption comment in LaTeX; left out of CSV).
      fmt: ``"text"``: aligned columns separated by ``" | "`` with a ``-+-`` rule under the
        header; ``"markdown"``: a GitHub table; ``"latex"``: a booktabs ``tabular`` (special
        characters escaped, ``+-`` as ``$\\pm$``); ``"csv"``: RFC 4180 rows.

    Example:
      >>> print(render_table(["a", "bb"], [["1", "2"]]))
      a | bb
      --+---
      1 | 2
    """
    if align not in ("left", "right"):
        raise ValueError(f"align must be 'left' or 'right', got {align!r}")
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(TABLE_FORMATS)}, got {fmt!r}")
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([list(header), *map(list, rows)])
        return buf.getvalue().rstrip("\n")
    if fmt == "latex":
        esc = lambda c: "".join(_LATEX.get(ch, ch) for ch in c).replace("+-", r"$\pm$")
        line = lambda cells: " & ".join(esc(c) for c in cells) + r" \\"
        spec = ("l" if align == "left" else "r") * len(header)
        out = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", line(header), r"\midrule",
               *map(line, rows), r"\bottomrule", r"\end{tabular}"]
        return "\n".join(out + ([f"% {footer}"] if footer else []))
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]
    pad = str.ljust if align == "left" else str.rjust
    if fmt == "markdown":
        line = lambda cells: "| " + " | ".join(pad(c.replace("|", r"\|"), w)
                                              for c, w in zip(cells, widths)) + " |"
        rule = "|" + "|".join(("-" * (w + 1) + ":") if align == "right" else "-" * (w + 2)
                              for w in widths) + "|"
        return "\n".join([line(header), rule, *map(line, rows)] + ([f"\n{footer}"] if footer else []))
    line = lambda cells: " | ".join(pad(c, w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows]
    return "\n".join(out + ([footer] if footer else []))
