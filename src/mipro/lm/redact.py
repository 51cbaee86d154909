"""Keeping secrets out of everything mipro shows or stores: reprs, errors, logs, run files.

A key can hide in a server URL (``http://user:key@host/v1``, ``...?api_key=...``) or be passed
as ``api_key``. ``redact_url`` is the form of a URL that may be shown or stored; ``Redactor``
scrubs known secret strings out of any text (such as an HTTP client's error message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_PARAMETER = re.compile(r"key|token|secret|password|passwd|auth|sig|credential", re.I)


def redact_url(url: str) -> str:
    """``url`` without secrets: user-info becomes ``***`` and the values of query parameters
    named like keys (``api_key``, ``token``, ``sig``, ...) become ``***``.

    >>> redact_url("http://user:sk-123@127.0.0.1:8000/v1?api_key=sk-123&x=1")
    'http://***@127.0.0.1:8000/v1?api_key=***&x=1'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, MASK if _SECRET_PARAMETER.search(name) else value) for name, value in pairs],
            safe="*",
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing to mask (and ``sqlite:///path`` keeps its three slashes)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> list[str]:
    """The secret strings in ``url``: its password (or its user name when it has no password:
    ``http://sk-...@host``) and its key-like query values."""
    parts = urlsplit(url)
    found = []
    secret = parts.password if parts.password else parts.username
    if secret:
        found += [secret, unquote(secret)]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_PARAMETER.search(name) and value:
            found += [value, quote(value, safe="")]
    return found


class Redactor:
    """Replaces each of a set of secret strings by ``***`` in any text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so that a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
