"""The winner's prompt next to the original, per predictor, as HTML (difflib)."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def diff_html(before: str, after: str) -> str:
    """``after`` against ``before``, word by word: removed words in ``<del>``, added in ``<ins>``."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    parts: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(html.escape("".join(old[i1:i2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{html.escape(''.join(old[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<ins>{html.escape(''.join(new[j1:j2]))}</ins>")
    return "".join(parts)


def demo_lines(demos: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per field of each demo (``[2] question: q12``)."""
    return [f"[{number}] {key}: {value}" for number, demo in enumerate(demos, 1)
            for key, value in demo.items()]


def lines_diff_html(before: Sequence[str], after: Sequence[str]) -> str:
    """Line by line: removed lines in ``<del>``, added ones in ``<ins>``, the rest as they are."""
    rows: list[str] = []
    for line in difflib.ndiff(list(before), list(after)):
        tag, text = line[:2], html.escape(line[2:])
        if tag == "- ":
            rows.append(f"<del>- {text}</del>")
        elif tag == "+ ":
            rows.append(f"<ins>+ {text}</ins>")
        elif tag == "  ":
            rows.append(f"  {text}")
    return "\n".join(rows) or "(no demos in either)"
