"""Attempt gates: a hook asked before every request an LM sends to its model.

One LM call can send several requests: its first try and each retry (and, on servers that
ignore ``n``, one request per batch of samples). A budget that caps what is sent must therefore
be asked before each of them, not once per call. An *attempt gate* is that hook::

    def gate(attempt: Attempt) -> None:
        budget.spend_one()          # raise (e.g. BudgetExhausted) to refuse the attempt
        if attempt.is_retry:
            usage.record_retry()

    with gate_attempts(gate):
        lm(request)                 # every request it sends is admitted by `gate` first

A gate that raises refuses the attempt: nothing is sent, no further retry is tried, and the
exception reaches the caller of the LM unchanged. Cache hits send nothing and ask no gate.
Gates nest (each gate in effect is asked, outermost first) and follow the context, as
``contextvars`` do: ``Evaluate`` runs its threads in the caller's context, so a gate set around
an evaluation holds inside it.

Backends call ``admit`` right before they send a request; ``BaseLM`` does it for backends that
send one request per call.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    """A request the LM ``model_id`` is about to send.

    ``retry`` is 0 for a first try and k for the k-th retry of the call. (A further request
    that is not a retry, such as the next batch of samples from a server that ignores ``n``,
    also has ``retry`` 0.)
    """

    model_id: str
    retry: int = 0

    @property
    def is_retry(self) -> bool:
        return self.retry > 0


#: A hook asked before each attempt; it refuses the attempt by raising.
AttemptGate = Callable[[Attempt], None]

_gates: contextvars.ContextVar[tuple[AttemptGate, ...]] = contextvars.ContextVar(
    "mipro_attempt_gates", default=()
)


@contextlib.contextmanager
def gate_attempts(gate: AttemptGate) -> Iterator[None]:
    """Within this context, ``gate(attempt)`` is asked before every request any LM sends."""
    token = _gates.set((*_gates.get(), gate))
    try:
        yield
    finally:
        _gates.reset(token)


def admit(attempt: Attempt) -> None:
    """Ask every gate in effect to admit ``attempt``; the first refusal propagates."""
    for gate in _gates.get():
        gate(attempt)
