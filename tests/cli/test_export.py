"""``mipro export``: the exported prompt of an iris program, sent to a real llama.cpp server by
plain HTTP (the ``openai`` client), answers exactly as mipro running the program against the same
server; and the command's formats and errors."""

import json
import re

import openai
import pytest

from mipro import Evaluate, Example, OpenAILM, Predict
from mipro.cli import main
from mipro.export import export_program
from mipro.tasks import load_task


def reasoned(example: Example) -> Example:
    return Example(dict(example), reasoning=f"Petal length {example.petal_length} cm, petal "
                                            f"width {example.petal_width} cm: {example.answer}.")


def read_reply(reply: str, fields: list[dict]) -> dict:
    """The reply's fields as a user outside mipro reads them: the text after each label, in order;
    a field with listed ``values`` must be one of them (else None)."""
    pattern = r"\n".join(rf"{re.escape(field['prefix'])}:(.*?)" for field in fields) + r"(?:\n\n|$)"
    match = re.match(pattern, reply.strip(), re.DOTALL)
    if match is None:
        return {}
    values = {field["name"]: text.strip() for field, text in zip(fields, match.groups())}
    for field in fields:
        if "values" in field and values[field["name"]] not in field["values"]:
            values[field["name"]] = None
    return values


@pytest.mark.real_lm
def test_exported_messages_answer_like_the_program_on_twenty_examples(server_url, tmp_path, capsys):
    task = load_task("iris")
    program = task.make_program()
    program.predict.max_tokens = 96
    one_per_species = {example.answer: example for example in reversed(task.trainset)}
    program.predict.demos = [reasoned(example) for example in one_per_species.values()]
    path = tmp_path / "iris.json"
    program.save(path)

    lm = OpenAILM("smollm2", base_url=server_url, cache=False, structured="none")
    run = Evaluate(task.testset[:20], task.metric, lm=lm, display_progress=False)(program)
    assert run.num_failed == 0 and lm.usage.snapshot().parse_retries == {}

    assert main(["export", str(path), "--format", "openai-messages"]) == 0
    exported = json.loads(capsys.readouterr().out)["predict"]
    client = openai.OpenAI(base_url=server_url, api_key="not-needed")
    for result in run.results:
        turn = exported["user_template"].format(**result.example.inputs())
        reply = client.chat.completions.create(
            model="smollm2", messages=[*exported["messages"], {"role": "user", "content": turn}],
            temperature=exported["temperature"], max_tokens=exported["max_tokens"],
        ).choices[0].message.content
        expected = {"reasoning": result.prediction.reasoning, "answer": result.prediction.answer}
        assert read_reply(reply, exported["reply_fields"]) == expected, result.example.id
    assert len({result.prediction.reasoning for result in run.results}) >= 15


@pytest.mark.parametrize("export_format", ["text", "openai-messages", "json"])
def test_each_format_prints_what_the_library_renders(tmp_path, capsys, export_format):
    path = tmp_path / "p.json"
    Predict("question -> answer: bool").save(path)
    assert main(["export", str(path), "--format", export_format]) == 0
    assert capsys.readouterr().out == export_program(path, export_format)


def test_exporting_a_file_that_is_not_a_saved_program_exits_1_naming_it(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text("{}")
    assert main(["export", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {path}: not a mipro saved program")


def test_an_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(tmp_path / "p.json"), "--format", "yaml"])
    assert exit_.value.code == 2
