"""Search quality: MIPRO light on the embedded model, over tasks and seeds, scored on unseen data.

For every (task, seed) this runs ``mipro.MIPRO(auto="light")`` on the task's train and validation
examples (capped by ``--max-train`` / ``--max-val``), then scores the unoptimized and the optimized
program on the held-out test examples (capped by ``--max-test``). Each run writes one JSON record
to ``--out`` with the test score and per-example results, the reported validation score
``val_best`` (so the val -> test gap can be read) and the search's best full score, how the
final program was chosen (``selection``), the test score of the search's best configuration
(``test_search_best``: what the optimizer would return without selection, with per-example
results), the proposals the filter rejected, the LM calls, the demo-set overlap and the hash
of the ``src/`` tree it ran with (and, with ``--resample``, on splits drawn afresh for each seed:
``benchmarks/resample.py``); finished records of the same
``src/`` hash are skipped, so the command resumes. A summary table (``summary.json``) compares each label (``--label``, e.g. "before" and "after").

    python -m benchmarks.search_quality --label after --tasks iris scone wine breast_cancer
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mipro
from mipro.evaluate import Evaluate
from mipro.lm.cache import SQLiteCache
from mipro.optimize.run.candidates import build_program
from mipro.optimize.run.study import RunStudy
from mipro.optimize.select import best_full_evaluation
from mipro.tasks import load_task

from benchmarks.paper.provenance import src_hash
from benchmarks.paper.stats import wilcoxon_p
from benchmarks.resample import resampled_splits

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "search_quality"


def demo_key(demo: dict[str, Any]) -> str:
    return json.dumps(demo, sort_keys=True, default=str)


def mean_pairwise_overlap(demo_sets: Sequence[Sequence[dict[str, Any]]]) -> float | None:
    """Mean |A & B| / min(|A|, |B|) over pairs of non-empty demo sets (None with fewer than 2)."""
    sets = [{demo_key(demo) for demo in demos} for demos in demo_sets if demos]
    pairs = list(itertools.combinations(sets, 2))
    if not pairs:
        return None
    return sum(len(a & b) / min(len(a), len(b)) for a, b in pairs) / len(pairs)


def demo_overlap(result: Any) -> dict[str, float | None]:
    """Every predictor's mean pairwise demo-set overlap among the run's candidates."""
    return {name: mean_pairwise_overlap(list(c.demo_sets))
            for name, c in result.candidates.predictors.items()}


def usage_calls(result: Any) -> dict[str, int]:
    """Real (uncached) LM calls of the run per role."""
    return {role: usage.calls for role, usage in result.usage.roles().items()}


def per_example(evaluation: Any) -> list[dict[str, Any]]:
    return [{"id": r.example.get("id", r.index), "score": r.score, "error": r.error}
            for r in evaluation.results]


def run_one(task_name: str, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    task = load_task(task_name)
    if args.resample:
        trainset, valset, testset = resampled_splits(task, seed, args.max_train, args.max_val,
                                                     args.max_test)
    else:
        trainset, valset = task.trainset[:args.max_train], task.valset[:args.max_val]
        testset = task.testset[:args.max_test]
    cache = SQLiteCache(out / "cache" / f"{task_name}-{seed}.sqlite")
    lm = mipro.LocalLM(cache=cache)
    optimizer = mipro.MIPRO(
        task.metric, task_lm=lm, auto="light", seed=seed, verbose=False, num_threads=2,
        run_name=f"{task_name}-{seed}", storage=f"sqlite:///{out / 'studies' / f'{task_name}-{seed}.db'}",
    )
    started = time.perf_counter()
    optimized = optimizer.compile(task.make_program(), trainset=trainset, valset=valset)
    seconds = time.perf_counter() - started
    result = optimizer.result
    evaluate = Evaluate(testset, task.metric, lm=lm, display_progress=False)
    before, after = evaluate(task.make_program()), evaluate(optimized)
    search_best = best_full_evaluation(result.full_evaluations).configuration
    unselected = evaluate(build_program(task.make_program(), result.candidates, search_best))
    cache.close()
    record = {
        "label": args.label, "task": task_name, "seed": seed, "src_hash": src_hash(),
        "lm": lm.model_id, "sizes": {"train": len(trainset), "val": len(valset), "test": len(testset)},
        "splits": "resampled" if args.resample else "built-in",
        "val_baseline": result.baseline_score, "val_best": result.best_score,
        "test_unoptimized": before.score, "test_optimized": after.score,
        "gap_val_minus_test": result.best_score - after.score,
        "lm_calls": usage_calls(result), "seconds": round(seconds, 1),
        "demo_overlap": demo_overlap(result),
        "val_search_best": max(e.score for e in result.full_evaluations),
        "test_search_best": unselected.score,
        "selection": None if result.selection is None else result.selection.as_dict(),
        "rejected_proposals": dict(result.rejected_proposals),
        "test_examples_unoptimized": per_example(before),
        "test_examples_optimized": per_example(after),
        "test_examples_search_best": per_example(unselected),
    }
    record["held_out_scores"] = held_out_scores(record, out / "studies")
    return record


def held_out_scores(record: dict[str, Any], studies: Path) -> dict[str, list[float]] | None:
    """The per-example scores, on the selection's examples, of the program as given and of the
    first configuration selection tested (the search's best), read from the run's study in
    ``studies``; ``None`` when selection tested no configuration."""
    selection = record.get("selection")
    if not selection or not selection["contenders"]:
        return None
    run = f"{record['task']}-{record['seed']}"
    study = RunStudy.open_existing(run, f"sqlite:///{studies / f'{run}.db'}")
    candidates = study.load_candidates()
    as_given = study.holdout_scores(candidates.baseline()) if candidates else None
    search_best = study.holdout_scores(selection["contenders"][0]["configuration"])
    if as_given is None or search_best is None:
        raise ValueError(f"the study of {run} lacks the held-out scores its record names")
    return {"as_given": list(as_given), "search_best": list(search_best)}


def load_records(out: Path) -> list[dict[str, Any]]:
    """The run records in ``out``'s label folders (not the summaries and analyses beside them)."""
    records = (json.loads(path.read_text()) for path in sorted(out.glob("*/*.json")))
    return [record for record in records if "label" in record and "task" in record]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean test score, gap, calls and overlap per label and task, and over tasks."""
    summary: dict[str, Any] = {}
    for record in records:
        summary.setdefault(record["label"], {}).setdefault(record["task"], []).append(record)
    table: dict[str, Any] = {}
    for label, tasks in summary.items():
        table[label] = {}
        for task, rows in sorted(tasks.items()):
            overlaps = [v for r in rows for v in r["demo_overlap"].values() if v is not None]
            table[label][task] = {
                "seeds": sorted(r["seed"] for r in rows),
                "test_unoptimized": _mean(r["test_unoptimized"] for r in rows),
                "test_optimized": _mean(r["test_optimized"] for r in rows),
                "test_search_best": _mean(r.get("test_search_best", r["test_optimized"]) for r in rows),
                "kept_as_given": sum(bool(r.get("selection")) and r["selection"]["chosen"] is None
                                     for r in rows),
                "val_best": _mean(r["val_best"] for r in rows),
                "gap_val_minus_test": _mean(r["gap_val_minus_test"] for r in rows),
                "gap_program_as_given": _as_given_gap(rows),
                "task_lm_calls": _mean(r["lm_calls"].get("task_lm", 0) for r in rows),
                "prompt_lm_calls": _mean(r["lm_calls"].get("prompt_lm", 0) for r in rows),
                "demo_overlap": _mean(overlaps) if overlaps else None,
            }
    return table


def compare(records: list[dict[str, Any]], label: str, reference: str,
            program: str = "test_examples_optimized") -> dict[str, Any]:
    """``label``'s returned programs against ``reference``'s, per task and over all: the mean
    per-example test difference and a two-sided Wilcoxon signed-rank p-value, paired by (seed,
    test example) over the seeds both labels ran (``benchmarks.paper.stats.wilcoxon_p``)."""
    by_run = {(r["label"], r["task"], r["seed"]): r for r in records}
    differences: dict[str, list[float]] = {}
    for (run_label, task, seed), record in sorted(by_run.items()):
        other = by_run.get((reference, task, seed))
        if run_label != label or other is None:
            continue
        theirs = {str(e["id"]): e["score"] for e in other["test_examples_optimized"]}
        differences.setdefault(task, []).extend(
            e["score"] - theirs[str(e["id"])] for e in record[program] if str(e["id"]) in theirs)
    comparison: dict[str, Any] = {}
    for task, values in [*sorted(differences.items()),
                         ("all", [d for values in differences.values() for d in values])]:
        if values:
            p_value, note = wilcoxon_p(values, unit="examples")
            comparison[task] = {"pairs": len(values), "mean_difference": _mean(values),
                                "p_value": p_value, "note": note}
    return comparison


def _as_given_gap(rows: list[dict[str, Any]]) -> float | None:
    """The mean held-out-minus-test gap of the program as given, which no selection chose, so
    the gap of an unbiased estimate: how far the selection examples and the test set differ
    (``None`` for records without a selection)."""
    gaps = [r["selection"]["baseline_holdout_score"] - r["test_unoptimized"]
            for r in rows if r.get("selection")]
    return _mean(gaps) if gaps else None


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="what this code is, e.g. before / after")
    parser.add_argument("--tasks", nargs="+", default=["iris", "scone", "wine", "breast_cancer"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-train", type=int, default=100)
    parser.add_argument("--max-val", type=int, default=60)
    parser.add_argument("--max-test", type=int, default=100)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--resample", action="store_true",
                        help="draw each seed's train/val/test afresh from the task's examples "
                             "(benchmarks/resample.py) instead of the task's fixed split")
    parser.add_argument("--summary-only", action="store_true",
                        help="run nothing: rewrite summary.json from the records in --out")
    args = parser.parse_args(argv)
    out = args.out / args.label
    (out / "studies").mkdir(parents=True, exist_ok=True)
    runs = [] if args.summary_only else itertools.product(args.tasks, args.seeds)
    for task_name, seed in runs:
        path = out / f"{task_name}-{seed}.json"
        if path.exists() and json.loads(path.read_text())["src_hash"] == src_hash():
            continue
        record = run_one(task_name, seed, args, out)
        path.write_text(json.dumps(record, indent=1))
        print(f"{args.label} {task_name} seed {seed}: test {record['test_unoptimized']:.3f} -> "
              f"{record['test_optimized']:.3f}, val best {record['val_best']:.3f}, "
              f"calls {record['lm_calls']}, overlap {record['demo_overlap']}, {record['seconds']} s",
              flush=True)
    records = load_records(args.out)
    summary = summarize(records)
    labels = {record["label"] for record in records}
    if {"before", "after"} <= labels:
        summary["after_vs_before"] = {
            program: compare(records, "after", "before", key)
            for program, key in (("returned", "test_examples_optimized"),
                                 ("search_best", "test_examples_search_best"))}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
