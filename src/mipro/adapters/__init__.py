"""Adapters: prompt formats (completion and chat), reply parsing, grammars."""

from mipro.adapters.base import Adapter, FieldParseError
from mipro.adapters.chat import ChatAdapter
from mipro.adapters.completion import CompletionAdapter
from mipro.lm.base import LM


def adapter_for(lm: LM) -> Adapter:
    """The adapter matching the LM's preferred prompt form."""
    if lm.prompt_format == "completion":
        return CompletionAdapter()
    return ChatAdapter()


__all__ = ["Adapter", "ChatAdapter", "CompletionAdapter", "FieldParseError", "adapter_for"]
