"""The chat form: a system message with the instruction and format, demos as turns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mipro.adapters.base import Adapter, describe_value, format_reminder, render_fields
from mipro.lm.base import LMCapabilities, LMRequest
from mipro.signatures import Signature


class ChatAdapter(Adapter):
    """Prompts as chat messages; the assistant replies with ``Label: value`` lines."""

    def build_request(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        capabilities: LMCapabilities,
        temperature: float = 0.0,
        max_tokens: int = 256,
        rollout: int | str = 0,
        reminder: str | None = None,
    ) -> LMRequest:
        return LMRequest(
            messages=tuple(self.format_messages(signature, demos, inputs, reminder=reminder)),
            temperature=temperature,
            max_tokens=max_tokens,
            grammar=self.grammar(signature, capabilities),
            rollout=rollout,
        )

    def format_messages(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        reminder: str | None = None,
    ) -> list[dict[str, str]]:
        """System message, one user/assistant pair per demo, then the user's inputs."""
        inputs_layout = "\n".join(f"{f.label}: {describe_value(f)}" for f in signature.input_fields)
        outputs_layout = "\n".join(
            f"{f.label}: {describe_value(f)}" for f in signature.output_fields
        )
        system = (
            f"{signature.instructions.strip()}\n\nYou will receive:\n{inputs_layout}\n\n"
            f"Reply in exactly this format:\n{outputs_layout}"
        )
        messages = [{"role": "system", "content": system}]
        for demo in demos:
            messages.append({"role": "user", "content": render_fields(signature.input_fields, demo)})
            messages.append(
                {"role": "assistant", "content": render_fields(signature.output_fields, demo)}
            )
        query = render_fields(signature.input_fields, inputs)
        note = reminder or format_reminder(signature)
        messages.append({"role": "user", "content": f"{query}\n\n{note}"})
        return messages
