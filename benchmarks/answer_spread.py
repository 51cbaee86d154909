"""Answer spread: which search-quality programs answer one label for every test example.

A classifier that gives the same answer whatever the input scores the share of that label in
the test set, and two such programs differ only in which label they chose. This reads the
records of ``benchmarks/search_quality.py`` (no LM call) and, for each program a record scored
on the test set (unoptimized, optimized, the search's best), says whether its per-example
scores are those of always answering one label: right on every example of that label and
wrong on every other. (A program that recognised one label perfectly and never answered it
elsewhere would leave the same pattern; with the embedded 135M model that is not what
happens.) Per task it also gives each label's test share (the score of always answering it),
and the best test score any record's program reached. Writes ``answer_spread.json`` beside
the records.

    python -m benchmarks.answer_spread
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mipro.program.predict import REASONING
from mipro.tasks import load_task

from benchmarks.search_quality import DEFAULT_OUT, load_records

PROGRAMS = {"unoptimized": "test_examples_unoptimized", "optimized": "test_examples_optimized",
            "search_best": "test_examples_search_best"}


def test_labels(task_name: str) -> dict[str, str]:
    """Each test example's id and its label: the value of the task program's last output
    field (its answer, not its reasoning)."""
    task = load_task(task_name)
    _, predictor = task.make_program().named_predictors()[-1]
    field = [f for f in predictor.signature.output_fields if f != REASONING][-1].name
    return {str(example.get("id")): str(example[field]) for example in task.testset}


def one_label(results: Sequence[dict[str, Any]], labels: dict[str, str]) -> str | None:
    """The label whose indicator the per-example scores are (the pattern of always answering
    it), or ``None``."""
    gold = [labels[str(result["id"])] for result in results]
    return next((label for label in sorted(set(gold))
                 if all((truth == label) == (result["score"] == 1.0)
                        for truth, result in zip(gold, results))), None)


def analyze(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per record, the label each program always answers (or ``None``); per task, the labels'
    test shares and the best test score of any program."""
    labels = {task: test_labels(task) for task in sorted({r["task"] for r in records})}
    rows, tasks = [], {}
    for record in records:
        task = record["task"]
        programs = {name: one_label(record[key], labels[task])
                    for name, key in PROGRAMS.items() if key in record}
        rows.append({"label": record["label"], "task": task, "seed": record["seed"],
                     "src_hash": record["src_hash"][:12], "always_answers": programs})
        if task not in tasks:  # every record of a task scores the same test examples
            gold = [labels[task][str(result["id"])] for result in record[PROGRAMS["unoptimized"]]]
            shares = {label: count / len(gold) for label, count in sorted(Counter(gold).items())}
            tasks[task] = {"label_shares": shares, "best_test": 0.0}
        entry = tasks[task]
        for key in PROGRAMS.values():
            if key in record:
                scores = [result["score"] for result in record[key]]
                entry["best_test"] = max(entry["best_test"], sum(scores) / len(scores))
    return {"records": rows, "tasks": tasks,
            "mean_best_test": sum(t["best_test"] for t in tasks.values()) / len(tasks)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the search-quality results folder (one sub-folder per label)")
    parser.add_argument("--labels", nargs="+", default=["before", "after"])
    args = parser.parse_args(argv)
    records = [record for label in args.labels for record in load_records(args.out)
               if record["label"] == label]
    analysis = analyze(records)
    for row in analysis["records"]:
        said = ", ".join(f"{name} {label or 'varies'}" for name, label in row["always_answers"].items())
        print(f"{row['label']:<7} {row['task']:<14} seed {row['seed']}: {said}")
    for task, entry in analysis["tasks"].items():
        shares = ", ".join(f"{label} {share:.3f}" for label, share in entry["label_shares"].items())
        print(f"{task}: test shares {shares}; best test score of any program {entry['best_test']:.3f}")
    print(f"mean over tasks of the best test score of any program: {analysis['mean_best_test']:.3f}")
    (args.out / "answer_spread.json").write_text(json.dumps(analysis, indent=1))


if __name__ == "__main__":
    main()
