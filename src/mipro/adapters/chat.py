"""The chat form: a system message with the instruction and format, demos as turns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mipro.adapters.base import (
    Adapter,
    describe_value,
    format_reminder,
    json_mode,
    render_fields,
)
from mipro.adapters.json_reply import format_json_reply, json_reminder
from mipro.lm.base import LMCapabilities
from mipro.signatures import Signature


class ChatAdapter(Adapter):
    """Prompts as chat messages; the assistant replies with ``Label: value`` lines.

    On backends with structured outputs but no grammar, the reply is a JSON object instead.
    """

    def prompt(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        reminder: str | None,
        capabilities: LMCapabilities,
    ) -> dict[str, Any]:
        messages = self.format_messages(
            signature, demos, inputs, reminder=reminder, json_reply=json_mode(capabilities)
        )
        return {"messages": tuple(messages)}

    def format_messages(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        reminder: str | None = None,
        json_reply: bool = False,
    ) -> list[dict[str, str]]:
        """System message, one user/assistant pair per demo, then the user's inputs."""
        inputs_layout = "\n".join(f"{f.label}: {describe_value(f)}" for f in signature.input_fields)
        if json_reply:
            reply_format = "one JSON object with these keys, in this order:\n" + "\n".join(
                f'"{f.name}": {describe_value(f)}' for f in signature.output_fields
            )
        else:
            reply_format = "exactly this format:\n" + "\n".join(
                f"{f.label}: {describe_value(f)}" for f in signature.output_fields
            )
        system = (
            f"{signature.instructions.strip()}\n\nYou will receive:\n{inputs_layout}\n\n"
            f"Reply in {reply_format}"
        )
        messages = [{"role": "system", "content": system}]
        for demo in demos:
            messages.append({"role": "user", "content": render_fields(signature.input_fields, demo)})
            reply = (
                format_json_reply(signature, demo) if json_reply
                else render_fields(signature.output_fields, demo)
            )
            messages.append({"role": "assistant", "content": reply})
        query = render_fields(signature.input_fields, inputs)
        note = json_reminder(signature) if json_reply else format_reminder(signature)
        if reminder:
            note = reminder if not json_reply else f"{reminder}\n{note}"
        messages.append({"role": "user", "content": f"{query}\n\n{note}"})
        return messages
