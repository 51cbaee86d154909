"""Structured outputs on OpenAI-compatible servers: how each kind of server takes a reply's form.

Every server kind constrains replies in its own way. ``OpenAILM(structured=...)`` names the
kind, or detects it (``"auto"``, the default) from the server's ``/models`` listing:

==============  ==============================================  ================================
kind            chat (``/chat/completions``)                     completions (``/completions``)
==============  ==============================================  ================================
``json_schema`` OpenAI's ``response_format`` of type            (none: the endpoint takes no
                ``json_schema``                                  schema)
``llamacpp``    ``grammar`` (GBNF), or ``response_format``       ``grammar`` (GBNF; a schema is
                ``{"type": "json_object", "schema": ...}``      sent as its grammar)
``vllm``        ``structured_outputs``: ``{"json": schema}`` or  the same
                ``{"grammar": ...}``
``ollama``      ``response_format`` of type ``json_schema``,     (none: Ollama's completions
                which Ollama passes on as its ``format``         endpoint takes no format)
``none``        (none)                                           (none)
==============  ==============================================  ================================

``llamacpp`` covers both llama.cpp servers (``llama-server`` and llama-cpp-python's
``python -m llama_cpp.server``); both take a GBNF ``grammar``, so they get the same line grammar
as the embedded model and a ``Literal`` reply can only be one of its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from mipro.lm.base import LMCapabilities, LMRequest
from mipro.lm.gbnf import schema_grammar

ServerKind = Literal["json_schema", "llamacpp", "vllm", "ollama", "none"]
Endpoint = Literal["chat", "completions"]
SERVER_KINDS: tuple[str, ...] = get_args(ServerKind)

#: ``owned_by`` values of ``/models`` entries, by the server kind that reports them.
_OWNERS: dict[str, ServerKind] = {
    "llamacpp": "llamacpp",  # llama.cpp's llama-server
    "me": "llamacpp",  # llama-cpp-python's server
    "vllm": "vllm",
    "library": "ollama",  # Ollama reports the model's namespace, "library" for its own models
    "ollama": "ollama",
    "openai": "json_schema",
    "system": "json_schema",
    "openai-internal": "json_schema",
}
_OPENAI_HOSTS = ("api.openai.com",)


def capabilities(kind: ServerKind, endpoint: Endpoint) -> LMCapabilities:
    """What a server of ``kind`` can constrain on ``endpoint``."""
    if kind == "llamacpp":
        return LMCapabilities(grammar=True, json_schema=True)
    if kind == "vllm":
        return LMCapabilities(json_schema=True)
    if kind in ("json_schema", "ollama"):
        return LMCapabilities(json_schema=endpoint == "chat")
    return LMCapabilities()


def request_fields(kind: ServerKind, endpoint: Endpoint, request: LMRequest) -> dict[str, Any]:
    """The body fields that ask a server of ``kind`` for the request's grammar or schema."""
    grammar, schema = request.grammar, request.json_schema
    if not capabilities(kind, endpoint).json_schema or (grammar is None and schema is None):
        return {}
    if kind == "llamacpp":
        if grammar is not None:
            return {"grammar": grammar}
        if endpoint == "chat":
            return {"response_format": {"type": "json_object", "schema": schema}}
        return {"grammar": schema_grammar(schema or {})}
    if kind == "vllm":
        return {"structured_outputs": {"grammar": grammar} if grammar else {"json": schema}}
    if schema is None:  # OpenAI and Ollama take schemas, not grammars
        return {}
    return {"response_format": {
        "type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True},
    }}


def detect_kind(base_url: str, models: Mapping[str, Any] | None) -> ServerKind:
    """The server kind, from its URL and its ``/models`` listing (``None`` if it had none).

    A server that says nothing recognizable is taken to speak OpenAI's ``json_schema``.
    """
    if urlsplit(base_url).hostname in _OPENAI_HOSTS:
        return "json_schema"
    entries = models.get("data") if isinstance(models, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        owner = entry.get("owned_by") if isinstance(entry, Mapping) else None
        if isinstance(owner, str) and owner.lower() in _OWNERS:
            return _OWNERS[owner.lower()]
    return "json_schema"
