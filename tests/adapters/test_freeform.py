import pytest

from mipro.adapters.freeform import clean_freeform_reply

LABEL = "Proposed Instruction"


@pytest.mark.parametrize(
    "reply",
    [
        "Classify the flower by its petal size.",
        " Classify the flower by its petal size.\n",
        "Proposed Instruction: Classify the flower by its petal size.",
        "**Proposed Instruction:** Classify the flower by its petal size.",
        "## Proposed instruction:\nClassify the flower by its petal size.",
        'Instruction: "Classify the flower by its petal size."',
        "“Classify the flower by its petal size.”",
        "```\nClassify the flower by its petal size.\n```",
        "```text\nProposed Instruction: 'Classify the flower by its petal size.'\n```",
        "**Classify the flower by its petal size.**",
        "Proposed Instruction: Proposed Instruction: Classify the flower by its petal size.",
        "Classify the flower by its petal size.\n\n---\n\nProposed Instruction: another one",
    ],
)
def test_formatting_around_an_instruction_is_removed(reply):
    assert clean_freeform_reply(reply, LABEL) == "Classify the flower by its petal size."


def test_reply_stops_at_the_next_field_label():
    reply = "Use the petals.\nReasoning: petals separate the classes best."
    assert clean_freeform_reply(reply, LABEL, stop_labels=["Reasoning"]) == "Use the petals."
    assert clean_freeform_reply(reply, LABEL) == reply


def test_multi_line_content_is_kept():
    reply = "Proposed Instruction: Read the passages.\nThen answer in a few words."
    assert clean_freeform_reply(reply, LABEL) == "Read the passages.\nThen answer in a few words."


def test_the_label_word_inside_the_text_is_kept():
    reply = "Follow this instruction: answer yes or no."
    assert clean_freeform_reply(reply, LABEL) == reply


@pytest.mark.parametrize("reply", ["", "   \n", "Proposed Instruction:", '**Proposed Instruction:** ""', "```\n```"])
def test_only_an_empty_reply_is_rejected(reply):
    assert clean_freeform_reply(reply, LABEL) is None


def test_a_summary_label_is_stripped_the_same_way():
    assert clean_freeform_reply("Summary: Questions about flowers.", "Summary") == "Questions about flowers."
