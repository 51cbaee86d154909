"""The final prompt of each predictor of a saved program, for use outside mipro.

Prompts are rendered by mipro's own adapters, so a model sent an exported prompt sees what it
sees when mipro runs the program. Each predictor's prompt is a template: the fixed part
(instruction, format, demos) and the last turn with one ``{field}`` placeholder per input, to
fill with ``str.format`` (other braces are doubled). Write a value as mipro writes it: text as
is, a list of strings one item a line numbered ``[1] «...»``, other lists and dicts as JSON,
booleans as ``true``/``false``. The template is exact for one-line values; mipro starts a value
that has line breaks on the line after its label (``Label:\n...``).

The model is asked to reply with one ``Label: value`` line per output field, in order; an
export lists the labels and each field's type (with its JSON schema) for parsing the reply.
The program's control flow (``forward``) is not part of a prompt: a multi-stage program's
exported prompts are called in the order its code calls its predictors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mipro.adapters import ChatAdapter, CompletionAdapter
from mipro.program.saved import SavedProgram, read_saved_program
from mipro.signatures import Signature
from mipro.signatures.serialize import signature_from_json

ExportFormat = Literal["text", "openai-messages", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("text", "openai-messages", "json")


@dataclass(frozen=True)
class PredictorPrompt:
    """One predictor's final prompt: its signature (with the instruction), demos and settings."""

    name: str
    signature: Signature
    described: dict[str, Any]
    """The signature as saved (``signature_to_json`` form, with each field's JSON schema)."""
    demos: Sequence[Mapping[str, Any]]
    temperature: float = 0.0
    max_tokens: int = 256

    def chat_messages(self) -> list[dict[str, str]]:
        """The chat messages before the user's turn: the system message and the demo turns."""
        return _chat(self)[:-1]

    def chat_user_template(self) -> str:
        """The final user turn, with a ``{field}`` placeholder per input."""
        return _template(_chat(self)[-1]["content"], self.signature)

    def completion_template(self, *, escape: bool = True) -> str:
        """The whole prompt in the completion form (the embedded model's), with placeholders;
        ``escape=False`` leaves other braces single (for reading, not for ``str.format``)."""
        prompt = CompletionAdapter().format_prompt(
            self.signature, self.demos, _placeholders(self.signature))
        return _template(prompt, self.signature, escape=escape)

    def reply_fields(self) -> list[dict[str, Any]]:
        """How to read the reply: each output's name, ``Label:`` and type (with JSON schema)."""
        return list(self.described["outputs"])


def load_prompts(path: str | Path) -> tuple[SavedProgram, list[PredictorPrompt]]:
    """The saved program at ``path`` and the final prompt of each of its predictors."""
    saved = read_saved_program(path)
    prompts = []
    for name, entry in saved.predictors.items():
        signature = signature_from_json(entry["signature"], source=f"{path}: predictor `{name}`")
        prompts.append(PredictorPrompt(
            name, signature, entry["signature"], [dict(demo) for demo in entry.get("demos", [])],
            float(entry.get("temperature", 0.0)), int(entry.get("max_tokens", 256)),
        ))
    return saved, prompts


def export_program(path: str | Path, export_format: ExportFormat = "text") -> str:
    """The prompts of the saved program at ``path`` as ``text``, ``openai-messages`` or ``json``.

    ``text``: each predictor's completion-form prompt under a header. ``openai-messages``: a
    JSON object mapping each predictor to its ``messages`` (system and demo turns), the
    ``user_template`` of the final turn, its ``inputs``, the ``reply_fields`` and the sampling
    settings. ``json``: the saved metadata and, per predictor, the typed signature, the demos
    and both prompt forms.
    """
    saved, prompts = load_prompts(path)
    if export_format == "text":
        return "\n\n".join(_text_block(saved, prompt) for prompt in prompts) + "\n"
    if export_format == "openai-messages":
        document: dict[str, Any] = {prompt.name: _chat_entry(prompt) for prompt in prompts}
    elif export_format == "json":
        document = _json_document(saved, prompts)
    else:
        raise ValueError(f"export format must be one of {EXPORT_FORMATS}, got {export_format!r}")
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _chat(prompt: PredictorPrompt) -> list[dict[str, str]]:
    return ChatAdapter().format_messages(prompt.signature, prompt.demos,
                                         _placeholders(prompt.signature))


def _placeholders(signature: Signature) -> dict[str, str]:
    """A marker per input that no real text contains, replaced by ``{field}`` in templates."""
    return {name: f"\x00{name}\x00" for name in signature.input_names}


def _template(rendered: str, signature: Signature, *, escape: bool = True) -> str:
    """``rendered`` with ``{field}`` placeholders; other braces doubled if ``escape``."""
    template = rendered.replace("{", "{{").replace("}", "}}") if escape else rendered
    for name, marker in _placeholders(signature).items():
        template = template.replace(marker, "{" + name + "}")
    return template


def _chat_entry(prompt: PredictorPrompt) -> dict[str, Any]:
    return {
        "messages": prompt.chat_messages(), "user_template": prompt.chat_user_template(),
        "inputs": list(prompt.signature.input_names), "reply_fields": prompt.reply_fields(),
        "temperature": prompt.temperature, "max_tokens": prompt.max_tokens,
    }


def _json_document(saved: SavedProgram, prompts: list[PredictorPrompt]) -> dict[str, Any]:
    return {
        "program": saved.program, "mipro_version": saved.mipro_version,
        "saved_at": saved.saved_at, "run_name": saved.run_name, "lm": saved.lm,
        "scores": saved.scores,
        "predictors": {
            prompt.name: {
                "signature": prompt.described, "demos": list(prompt.demos),
                "temperature": prompt.temperature, "max_tokens": prompt.max_tokens,
                "completion_template": prompt.completion_template(),
                "chat": {"messages": prompt.chat_messages(),
                         "user_template": prompt.chat_user_template()},
            }
            for prompt in prompts
        },
    }


def _text_block(saved: SavedProgram, prompt: PredictorPrompt) -> str:
    inputs = ", ".join(f"{{{name}}}" for name in prompt.signature.input_names)
    header = (f"# {prompt.name} ({saved.program}, saved {saved.saved_at}"
              + (f", run {saved.run_name}" if saved.run_name else "") + ")\n"
              f"# Completion prompt: fill {inputs}; the reply continues after the last label and "
              "ends at a blank line.")
    return f"{header}\n\n{prompt.completion_template(escape=False)}"
