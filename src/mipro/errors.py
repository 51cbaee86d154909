"""The one exception tree of mipro.

::

    MiproError
    ├── ConfigurationError      a caller mistake, raised before the first LM call
    ├── ParseError              an LM reply that does not fit the signature
    ├── EvaluationError         an evaluation whose program failed on more examples than allowed
    ├── MetricError             the metric raised, or returned no finite number (a user bug)
    ├── BudgetExhausted         an optimizer reached ``max_lm_calls``
    └── LMError                 a failed LM call; ``retryable`` says if trying again may help
        ├── LMUnavailableError  nothing answers at the endpoint, or the model cannot load
        ├── LMTimeoutError      the call took longer than its timeout
        ├── RateLimitError      the server asked us to slow down (429)
        ├── MalformedReplyError the server answered, but not with a reply (not JSON, HTML, ...)
        ├── RunInterruptedError an optimizer run stopped because its LM failed; rerun to resume
        └── ContextWindowError  the prompt does not fit the model's context window

Messages quote replies through ``excerpt``, so a huge reply never becomes a huge message.
"""

from __future__ import annotations

#: The most characters of a reply that an error message quotes.
EXCERPT_CHARS = 500


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


class MiproError(Exception):
    """Root of every error raised by mipro."""


class ConfigurationError(MiproError, ValueError):
    """A caller mistake: a bad argument, field, file or row. Raised before any LM call."""


class ParseError(MiproError):
    """An LM reply could not be parsed into the signature's output fields."""

    def __init__(self, message: str, *, module: str, raw_reply: str, field: str | None = None):
        self.module = module
        self.raw_reply = raw_reply
        self.field = field
        super().__init__(f"{module}: {excerpt(message)}\nRaw reply: {excerpt(repr(raw_reply))}")


class EvaluationError(MiproError):
    """An evaluation stopped because the program raised on more examples than its
    ``max_errors`` allows; ``failures`` lists (example index, error) of each."""

    def __init__(self, message: str, *, failures: list[tuple[int, str]], dataset: str = "example"):
        self.failures = failures
        lines = "\n".join(f"  {dataset}[{index}]: {reason}" for index, reason in failures)
        super().__init__(f"{message}\nFailed examples:\n{lines}")


class MetricError(MiproError):
    """The metric raised, or returned something that is not a finite number or a bool (``None``,
    a string, NaN): a bug in the metric or in the data it reads, never a score. An evaluation
    stops at the first one, naming the example."""


class BudgetExhausted(MiproError):
    """The LM-call budget of an optimizer run is spent."""


class LMError(MiproError):
    """A failed LM call; ``retry_after`` is the wait in seconds the server asked for, if any."""

    retryable: bool = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class LMUnavailableError(LMError):
    """The LM cannot be reached or loaded."""

    retryable = True


class LMTimeoutError(LMError):
    """The LM call exceeded its timeout."""

    retryable = True


class RateLimitError(LMError):
    """The server rejected the call for rate limiting (HTTP 429)."""

    retryable = True


class MalformedReplyError(LMError):
    """The server answered, but its body is not a completion: not JSON, an HTML page, or JSON
    without ``choices``. Often a proxy or a server restarting, so it is retried."""

    retryable = True


class RunInterruptedError(LMError):
    """An optimizer run stopped because its LM failed for a reason that is not the prompt's
    (unreachable, timed out, a malformed reply, a rejected request). Nothing in progress was
    scored; every finished trial stays in the run's study, and running again resumes.
    ``cause`` is the LM's error."""

    def __init__(self, message: str, *, cause: LMError) -> None:
        self.cause = cause
        self.retryable = cause.retryable
        super().__init__(message)


class ContextWindowError(LMError):
    """The prompt is longer than the model's context window."""

    def __init__(self, message: str, *, prompt_tokens: int, context_window: int):
        self.prompt_tokens = prompt_tokens
        self.context_window = context_window
        super().__init__(message)
