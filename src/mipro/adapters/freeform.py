"""Tolerant reading of free-form replies, such as instruction proposals and dataset summaries.

A proposer's reply is never lost to formatting: labels, Markdown, code fences and quotes are
taken off, and only a reply with nothing left is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mipro.signatures.types import strip_code_fence

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}
_MARKDOWN_LEAD = re.compile(r"^[#>\s]+")
_SEPARATOR = re.compile(r"\n\s*(?:---|===|\*\*\*)")


def clean_freeform_reply(
    text: str, label: str, *, stop_labels: Sequence[str] = ()
) -> str | None:
    """The content of a free-form reply to a prompt that ended with ``label``; ``None`` if empty.

    Strips a repeated ``label:`` prefix (``**Proposed Instruction:**``), Markdown emphasis,
    headings and code fences, and enclosing quotes. The reply ends at a ``---`` separator or at
    a line that starts with one of ``stop_labels`` (the next field, the next example).
    """
    content = _cut(text, stop_labels)
    previous = None
    while content != previous:
        previous = content
        content = strip_code_fence(content)
        content = _strip_label(content, label)
        content = _strip_emphasis(content)
        content = _strip_quotes(content)
    return content or None


def _cut(text: str, stop_labels: Sequence[str]) -> str:
    end = len(text)
    separator = _SEPARATOR.search(text)
    if separator:
        end = separator.start()
    for stop in filter(str.strip, stop_labels):
        match = _label_pattern(stop).search(text, 1)
        if match and match.start() < end:
            end = match.start()
    return text[:end].strip()


def _strip_label(text: str, label: str) -> str:
    match = _label_pattern(label).match(text) if label.strip() else None
    return text[match.end():].strip() if match else text


def _label_pattern(label: str) -> re.Pattern[str]:
    """``label:`` at the start of a line, in any case, wrapped in Markdown or not.

    Leading words of the label may be left out: ``Instruction:`` for ``Proposed Instruction``.
    """
    *leading, last = [re.escape(word) for word in label.split()]
    words = "".join(rf"(?:{word}\s+)?" for word in leading) + last
    return re.compile(rf"(?:^|(?<=\n))[#>*_\s]*{words}[*_\s]*:[*_]*\s*", re.IGNORECASE)


def _strip_emphasis(text: str) -> str:
    text = _MARKDOWN_LEAD.sub("", text)
    for marker in ("**", "__"):
        if text.startswith(marker) and text.endswith(marker) and len(text) > 2 * len(marker):
            text = text[len(marker):-len(marker)]
    return text.strip()


def _strip_quotes(text: str) -> str:
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return text
