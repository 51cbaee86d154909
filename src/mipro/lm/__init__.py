"""Language models: the protocol, the embedded local model, OpenAI-compatible servers, cache."""

from mipro.lm.base import BaseLM, LM, LMCapabilities, LMRequest, LMResponse, TokenUsage
from mipro.lm.context import active_lm, default_lm, using_lm
from mipro.lm.usage import UsageSnapshot, UsageTracker

__all__ = [
    "LM", "BaseLM", "LMCapabilities", "LMRequest", "LMResponse", "TokenUsage", "UsageSnapshot",
    "UsageTracker", "active_lm", "default_lm", "using_lm",
]
