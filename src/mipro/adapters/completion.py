"""The completion form: a plain-text prompt with field markers, ending at the first output label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mipro.adapters.base import Adapter, describe_value, render_fields
from mipro.lm.base import LMCapabilities
from mipro.signatures import Signature

SEPARATOR = "\n\n---\n\n"


class CompletionAdapter(Adapter):
    """Prompts as one text: instruction, format, demos, then the inputs and the first label.

    Small local models follow this form better than chat turns.
    """

    reply_starts_inside_first_field = True

    stop = ("\n\n", "\n---")

    def prompt(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        reminder: str | None,
        capabilities: LMCapabilities,
    ) -> dict[str, Any]:
        return {"prompt": self.format_prompt(signature, demos, inputs, reminder=reminder)}

    def format_prompt(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        reminder: str | None = None,
    ) -> str:
        """The full prompt text (instruction and demos first, so they form a shared prefix)."""
        layout = "\n".join(f"{f.label}: {describe_value(f)}" for f in signature.fields)
        blocks = [signature.instructions.strip(), f"Follow the following format.\n\n{layout}"]
        blocks += [render_fields(signature.fields, demo) for demo in demos]
        query = render_fields(signature.input_fields, inputs)
        if reminder:
            query = f"{reminder}\n\n{query}"
        blocks.append(f"{query}\n{signature.output_fields[0].label}:")
        return SEPARATOR.join(blocks)
