"""Language models: the protocol, the embedded local model, OpenAI-compatible servers, cache."""

from mipro.lm.attempts import Attempt, AttemptGate, gate_attempts
from mipro.lm.base import BaseLM, LM, LMCapabilities, LMRequest, LMResponse, TokenUsage
from mipro.lm.cache import LMCache, SQLiteCache
from mipro.lm.context import active_lm, default_lm, using_lm
from mipro.lm.local import LocalLM
from mipro.lm.openai_lm import OpenAILM
from mipro.lm.redact import redact_url
from mipro.lm.retry import RetryPolicy
from mipro.lm.usage import UsageSnapshot, UsageTracker

__all__ = [
    "LM", "Attempt", "AttemptGate", "BaseLM", "LMCache", "LMCapabilities", "LMRequest",
    "LMResponse", "LocalLM", "OpenAILM", "RetryPolicy", "SQLiteCache", "TokenUsage",
    "UsageSnapshot", "UsageTracker", "active_lm", "default_lm", "gate_attempts", "redact_url",
    "using_lm",
]
