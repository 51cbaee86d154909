"""A run's fingerprint: everything that changes what a run finds, as JSON.

A resumed run must be the run that was started, so its study keeps the fingerprint and a run
whose fingerprint differs is refused, naming each field that changed (``changes``). The parts
described here are the ones that need more than their value: the metric (its qualified name
and a hash of its source), the program (its class and source, and every predictor's
signature, instruction, demos and sampling settings), each LM's identity and the data (its
size and a hash). The optimizer adds its plan and search settings (``Optimizer._fingerprint``).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mipro.lm.base import LM, BaseLM
from mipro.program import Example, Module

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def describe_metric(metric: Callable[..., Any]) -> dict[str, str]:
    """The metric's qualified name and a hash of its source (of its code when the source is
    not available; of the wrapped function and bound arguments of a ``functools.partial``)."""
    if isinstance(metric, functools.partial):
        inner = describe_metric(metric.func)
        bound = _stable_repr((metric.args, sorted(metric.keywords.items())))
        return {"name": f"functools.partial({inner['name']}, ...)",
                "source": digest([inner["source"], bound])}
    target = metric if inspect.isroutine(metric) or inspect.isclass(metric) else type(metric)
    return {"name": _qualified_name(target), "source": digest(_source(target))}


def describe_program(program: Module) -> dict[str, Any]:
    """The program's class and source hash, and per predictor what shapes its prompt: kind,
    fields, instruction, demos (hashed), adapter and sampling settings."""
    return {
        "class": _qualified_name(type(program)),
        "source": digest(_source(type(program))),
        "predictors": {
            name: {
                "kind": _qualified_name(type(predictor)),
                "fields": [_stable_repr(field) for field in predictor.signature.fields],
                "instructions": predictor.signature.instructions,
                "demos": digest([dict(demo) for demo in predictor.demos]),
                "adapter": _kind(getattr(predictor, "adapter", None)),
                "temperature": getattr(predictor, "temperature", None),
                "max_tokens": getattr(predictor, "max_tokens", None),
            }
            for name, predictor in program.named_predictors()
        },
    }


def describe_lm(lm: LM | None) -> dict[str, str] | None:
    """What identifies an LM (``None``: no LM in this role): a ``BaseLM``'s ``identity`` (its
    model file, or its server URL without secrets and model name), else its backend and id."""
    if lm is None:
        return None
    if isinstance(lm, BaseLM):
        return dict(lm.identity)
    return {"backend": type(lm).__name__, "model_id": lm.model_id}


def describe_data(examples: Sequence[Example]) -> dict[str, Any]:
    """How many examples, and a hash of their fields and which of them are inputs."""
    rows = [[dict(example), sorted(example.input_keys)] for example in examples]
    return {"examples": len(rows), "sha256": digest(rows)}


def changes(stored: Mapping[str, Any], now: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Each field that differs between two fingerprints, as ``path: stored X, now Y``."""
    found = []
    for key in sorted(set(stored) | set(now)):
        path = f"{prefix}{key}"
        old, new = stored.get(key, _MISSING), now.get(key, _MISSING)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            found += changes(old, new, prefix=f"{path}.")
        elif old != new:
            found.append(f"{path}: stored {_shown(old)}, now {_shown(new)}")
    return found


def digest(value: Any) -> str:
    """A short stable hash of JSON-ready ``value``."""
    text = json.dumps(value, sort_keys=True, default=_stable_repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


_MISSING = _Missing()


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _qualified_name(target: Any) -> str:
    module = getattr(target, "__module__", None) or "?"
    return f"{module}.{getattr(target, '__qualname__', type(target).__qualname__)}"


def _kind(value: Any) -> str | None:
    return None if value is None else _qualified_name(type(value))


def _source(target: Any) -> str:
    """The source of a function or class; its compiled code when the source is not available
    (e.g. defined in ``python -c``)."""
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        pass
    if inspect.isclass(target):
        members = sorted(vars(target).items())
        return repr([(name, _code_text(member.__code__)) for name, member in members
                     if isinstance(member, types.FunctionType)])
    code = getattr(target, "__code__", None)
    return _code_text(code) if isinstance(code, types.CodeType) else _qualified_name(target)


def _code_text(code: types.CodeType) -> str:
    consts = [_code_text(c) if isinstance(c, types.CodeType) else _stable_repr(c)
              for c in code.co_consts]
    return f"{code.co_code.hex()}|{consts}|{code.co_names}"


def _stable_repr(value: Any) -> str:
    """``repr`` without memory addresses, so that it is the same in every process."""
    return _ADDRESS.sub("", repr(value))
