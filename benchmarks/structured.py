"""Structured outputs on the embedded model: decoding constrained by the reply grammar or not.

For classification (iris, scone: chain of thought with a ``Literal`` answer) and multi-hop QA
(hotpotqa: three chain-of-thought calls with ``str`` outputs), every test example runs once on
``LocalLM(constrained=True)`` and once on ``LocalLM(constrained=False)``, interleaved so both
modes see the same machine load. Reported per task and mode: predictor calls, replies that
needed the format retry, calls that failed to parse even after it, and the task score.

The time cost of constraining is measured on a sample of the constrained requests, replayed on
one llama.cpp context with the prompt already evaluated, so that only generation is timed: with
no grammar, with llama.cpp's grammar sampler (which checks the whole vocabulary every step) and
with ``GrammarFilter`` (which checks the model's best candidates first). The cost is one minus
the ratio of generated tokens per second to the unconstrained run.

    .venv/bin/python benchmarks/structured.py [--examples 40 40 30] [--speed-requests 60]

Prints a table and writes ``benchmarks/results/structured.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_cpp import Llama, LlamaGrammar, LogitsProcessorList

from mipro.errors import ParseError
from mipro.evaluate import call_metric
from mipro.lm import LMCapabilities, LMRequest, LMResponse, UsageSnapshot, using_lm
from mipro.lm.grammar_filter import GrammarFilter
from mipro.lm.local import LocalLM, default_model_path
from mipro.tasks import load_task

TASKS = ("iris", "scone", "hotpotqa")
RESULTS = Path(__file__).parent / "results" / "structured.json"


class RecordingLM:
    """An LM that passes requests to ``lm`` and keeps them, to replay them in the speed probe."""

    def __init__(self, lm: LocalLM) -> None:
        self.lm = lm
        self.model_id, self.prompt_format, self.usage = lm.model_id, lm.prompt_format, lm.usage
        self.requests: list[LMRequest] = []

    @property
    def capabilities(self) -> LMCapabilities:
        return self.lm.capabilities

    def __call__(self, request: LMRequest) -> LMResponse:
        self.requests.append(request)
        return self.lm(request)


def run_example(program: Any, example: Any, metric: Any, lm: Any) -> tuple[float, str | None]:
    """One example on one LM: its score, and any error other than a parse failure."""
    with using_lm(lm):
        try:
            return call_metric(metric, example, program(**example.inputs())), None
        except ParseError:
            return 0.0, None  # counted by the LM's usage tracker
        except Exception as failure:  # noqa: BLE001 - reported, the benchmark goes on
            return 0.0, f"{type(failure).__name__}: {failure}"


def summary(used: UsageSnapshot, scores: list[float], errors: list[str]) -> dict[str, Any]:
    """Counts and rates of one (task, mode) from the LM usage it took."""
    retries, failures = sum(used.parse_retries.values()), sum(used.parse_failures.values())
    predictor_calls = used.calls - retries
    return {
        "examples": len(scores),
        "score": round(sum(scores) / max(len(scores), 1), 4),
        "predictor_calls": predictor_calls,
        "lm_calls": used.calls,
        "format_retries": retries,
        "parse_failures": failures,
        "retry_rate": round(retries / max(predictor_calls, 1), 4),
        "parse_failure_rate": round(failures / max(predictor_calls, 1), 4),
        "completion_tokens": used.completion_tokens,
        "seconds": round(used.seconds, 2),
        "other_errors": errors,
    }


def compare_modes(lms: dict[str, Any], examples_per_task: dict[str, int]) -> dict[str, Any]:
    """Every test example on every LM; per task and in total, what each mode did."""
    start = {mode: lm.usage.snapshot() for mode, lm in lms.items()}
    report: dict[str, Any] = {}
    all_scores: dict[str, list[float]] = {mode: [] for mode in lms}
    all_errors: dict[str, list[str]] = {mode: [] for mode in lms}
    for name, count in examples_per_task.items():
        task = load_task(name)
        program = task.make_program()
        before = {mode: lm.usage.snapshot() for mode, lm in lms.items()}
        scores: dict[str, list[float]] = {mode: [] for mode in lms}
        errors: dict[str, list[str]] = {mode: [] for mode in lms}
        for index, example in enumerate(task.testset[:count]):
            for mode, lm in lms.items():
                score, error = run_example(program, example, task.metric, lm)
                scores[mode].append(score)
                errors[mode] += [error] if error else []
            print(f"\r{name}: {index + 1}/{count}", end="", flush=True)
        print()
        report[name] = {
            mode: summary(lm.usage.snapshot() - before[mode], scores[mode], errors[mode])
            for mode, lm in lms.items()
        }
        for mode in lms:
            all_scores[mode] += scores[mode]
            all_errors[mode] += errors[mode]
    report["total"] = {
        mode: summary(lm.usage.snapshot() - start[mode], all_scores[mode], all_errors[mode])
        for mode, lm in lms.items()
    }
    return report


def generation_speed(requests: list[LMRequest], n_threads: int) -> dict[str, Any]:
    """Generated tokens per second of each request with no grammar, llama.cpp's grammar sampler
    and ``GrammarFilter``, on a prompt already evaluated. The order of the three rotates."""
    llama = Llama(str(default_model_path()), n_ctx=2048, n_threads=n_threads,
                  n_threads_batch=n_threads, seed=0, verbose=False)
    ways: dict[str, Callable[[LMRequest], dict[str, Any]]] = {
        "free": lambda request: {},
        "grammar_sampler": lambda request: {
            "grammar": LlamaGrammar.from_string(request.grammar or "", verbose=False)},
        "grammar_filter": lambda request: {
            "logits_processor": LogitsProcessorList([GrammarFilter(
                llama, request.grammar or "", greedy=request.temperature == 0)])},
    }
    totals = {way: [0, 0.0] for way in ways}
    differing: list[dict[str, str]] = []
    for index, request in enumerate(requests):
        prompt = llama.tokenize((request.prompt or "").encode(), add_bos=True, special=True)
        # Two tokens, so that every timed run, like the ones after it, starts by evaluating the
        # prompt's last token again: the same logits for all three ways.
        llama.create_completion(prompt, max_tokens=2, temperature=0.0)
        order = list(ways)[index % 3:] + list(ways)[:index % 3]
        texts = {}
        for way in order:
            started = time.perf_counter()
            result: Any = llama.create_completion(
                prompt, max_tokens=request.max_tokens, temperature=request.temperature,
                stop=list(request.stop), seed=0, **ways[way](request),
            )
            totals[way][1] += time.perf_counter() - started
            totals[way][0] += result["usage"]["completion_tokens"]
            texts[way] = result["choices"][0]["text"]
        if texts["grammar_sampler"] != texts["grammar_filter"]:
            differing.append({way: texts[way] for way in ("grammar_sampler", "grammar_filter")})
    speed = {way: {"completion_tokens": tokens, "seconds": round(seconds, 2),
                   "tokens_per_second": round(tokens / seconds, 2)}
             for way, (tokens, seconds) in totals.items()}
    free = speed["free"]["tokens_per_second"]
    for way in ("grammar_sampler", "grammar_filter"):
        speed[way]["time_cost"] = round(1 - speed[way]["tokens_per_second"] / free, 4)
    return {"requests": len(requests), "n_threads": n_threads,
            "filter_replies_equal_sampler_replies": len(requests) - len(differing),
            "differing_replies": differing, **speed}


def run(examples_per_task: dict[str, int], speed_requests: int) -> dict[str, Any]:
    constrained = LocalLM(cache=None, constrained=True)
    recorder = RecordingLM(constrained)
    started = time.perf_counter()
    modes = compare_modes(
        {"constrained": recorder, "free": LocalLM(cache=None, constrained=False)},
        examples_per_task,
    )
    replayable = [r for r in recorder.requests if r.prompt is not None and r.grammar]
    step = max(1, len(replayable) // speed_requests)
    speed = generation_speed(replayable[::step][:speed_requests], constrained.n_threads)
    return {
        "model": constrained.model_id,
        "machine": f"{platform.machine()}, {platform.system()}, {platform.python_version()}",
        "examples_per_task": examples_per_task,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "modes": modes,
        "generation_speed": speed,
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"{'task':<10}{'mode':<13}{'calls':>6}{'retried':>9}{'failed':>8}{'fail rate':>11}"
          f"{'score':>8}")
    for name, by_mode in report["modes"].items():
        for mode, s in by_mode.items():
            print(f"{name:<10}{mode:<13}{s['predictor_calls']:>6}{s['format_retries']:>9}"
                  f"{s['parse_failures']:>8}{s['parse_failure_rate']:>11.1%}{s['score']:>8.3f}")
    speed = report["generation_speed"]
    print(f"generation only, {speed['requests']} constrained requests replayed:")
    for way in ("free", "grammar_sampler", "grammar_filter"):
        cost = speed[way].get("time_cost")
        print(f"  {way:<16}{speed[way]['tokens_per_second']:>7.1f} tok/s"
              + (f"  time cost {cost:.1%}" if cost is not None else ""))
    print(f"  filter replies equal to sampler replies: "
          f"{speed['filter_replies_equal_sampler_replies']}/{speed['requests']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, nargs=len(TASKS), default=[40, 40, 30],
                        metavar="N", help=f"test examples of {', '.join(TASKS)}")
    parser.add_argument("--speed-requests", type=int, default=60, metavar="N",
                        help="constrained requests replayed to time generation")
    args = parser.parse_args()
    report = run(dict(zip(TASKS, args.examples)), args.speed_requests)
    print_report(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
