"""Speed of the embedded model and of mipro's LM stack around it.

1. Throughput of SmolLM2-135M-Instruct here: prompt tokens/s (a 500-token prompt evaluated from
   scratch) and generated tokens/s (greedy, prompt already evaluated), per thread count.
2. Overhead of ``LocalLM`` over raw ``llama-cpp-python``: the same 40 prompts with the same
   settings (one context, greedy, cache off), runs interleaved; median of the repetitions.
3. Prefix reuse: ``Evaluate`` of a ``Predict`` with 4 demos over 40 examples (2 threads), with
   llama.cpp's prefix reuse on and off (cache off), interleaved.
4. Routing: a two-stage program (two predictors with 4 demos each, called in turn) evaluated
   sequentially on 1 context vs 2 contexts routed by shared prefix.
5. Context layout: 1 context with 2 threads vs 2 contexts with 1 thread each, on the evaluation
   of 3. run with 1 and with 2 evaluation threads.

    .venv/bin/python benchmarks/lm_speed.py [--repeats 3]

Prints the figures and writes ``benchmarks/results/lm_speed.json``. On a shared machine quote the
medians and the ratios, and look at the recorded load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from mipro import Evaluate, Example, Module, Predict, Prediction
from mipro.lm import LMRequest, LocalLM
from mipro.lm.local import SAMPLING, default_model_path

RESULTS = Path(__file__).parent / "results" / "lm_speed.json"
COUNTRIES = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Greece", "Athens"), ("Austria", "Vienna"), ("Poland", "Warsaw"),
    ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"),
    ("Ireland", "Dublin"), ("Belgium", "Brussels"), ("Netherlands", "Amsterdam"),
    ("Hungary", "Budapest"), ("Romania", "Bucharest"), ("Bulgaria", "Sofia"), ("Egypt", "Cairo"),
    ("Kenya", "Nairobi"), ("Nigeria", "Abuja"), ("Ghana", "Accra"), ("Morocco", "Rabat"),
    ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"), ("Thailand", "Bangkok"),
    ("Vietnam", "Hanoi"), ("Indonesia", "Jakarta"), ("Turkey", "Ankara"), ("Iran", "Tehran"),
    ("Canada", "Ottawa"), ("Mexico", "Mexico City"), ("Cuba", "Havana"), ("Peru", "Lima"),
    ("Chile", "Santiago"), ("Argentina", "Buenos Aires"), ("Colombia", "Bogota"),
    ("Australia", "Canberra"), ("New Zealand", "Wellington"), ("Russia", "Moscow"),
    ("Ukraine", "Kyiv"), ("Czechia", "Prague"), ("Iceland", "Reykjavik"),
]
PROMPTS = [f"Question: What is the capital of {country}?\nAnswer:" for country, _ in COUNTRIES[:40]]
MAX_TOKENS = 16
STOP = ("\n",)
GENERATED = 64


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds, and CPU seconds of this process (steadier on a busy machine)."""

    wall: float
    cpu: float


def timed(run: Callable[[], Any]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def median_rate(count: int, timings: list[Timing]) -> dict[str, float]:
    return {"per_wall_s": round(count / statistics.median(t.wall for t in timings), 1),
            "per_cpu_s": round(count / statistics.median(t.cpu for t in timings), 1)}


def throughput(model: str, n_threads: int, repeats: int) -> dict[str, Any]:
    """Prompt and generated tokens per second of one context with ``n_threads`` threads."""
    llama = Llama(model, n_ctx=2048, n_threads=n_threads, n_threads_batch=n_threads, verbose=False)
    prompt = llama.tokenize(("The quick brown fox jumps over the lazy dog. " * 60).encode())[:500]
    prompt_timings, generation_timings = [], []
    for _ in range(repeats):
        llama.reset()
        prompt_timings.append(timed(lambda: llama.eval(prompt)))
        generation_timings.append(timed(lambda: generate(llama, prompt)))
    llama.close()
    return {"prompt_tokens": median_rate(len(prompt), prompt_timings),
            "generated_tokens": median_rate(GENERATED, generation_timings)}


def generate(llama: Llama, prompt: list[int]) -> None:
    """``GENERATED`` greedy tokens after an evaluated prompt (end-of-text does not stop it)."""
    for count, _ in enumerate(llama.generate(prompt, temp=0.0), 1):
        if count == GENERATED:
            return


def overhead(model: str, n_threads: int, repeats: int) -> dict[str, Any]:
    """The 40 prompts through raw llama-cpp-python and through LocalLM, runs interleaved."""
    raw = Llama(model, n_ctx=2048, n_threads=n_threads, n_threads_batch=n_threads, verbose=False)
    lm = LocalLM(model, slots=1, n_threads=n_threads, cache=False)
    requests = [LMRequest(prompt=prompt, max_tokens=MAX_TOKENS, stop=STOP) for prompt in PROMPTS]

    def run_raw() -> list[str]:
        return [raw.create_completion(prompt, max_tokens=MAX_TOKENS, temperature=0.0,
                                      stop=list(STOP), seed=0, **SAMPLING)["choices"][0]["text"]
                for prompt in PROMPTS]

    def run_mipro() -> list[str]:
        return [lm(request).text for request in requests]

    same_replies = run_raw() == run_mipro()  # also the warm-up of both
    raw_timings: list[Timing] = []
    mipro_timings: list[Timing] = []
    for repeat in range(repeats):
        order = [(run_raw, raw_timings), (run_mipro, mipro_timings)]
        for run, timings in order if repeat % 2 == 0 else order[::-1]:
            timings.append(timed(run))
    raw.close()
    figures: dict[str, Any] = {"prompts": len(PROMPTS), "n_threads": n_threads,
                               "same_replies": same_replies}
    for clock in ("wall", "cpu"):
        raw_s = [getattr(t, clock) for t in raw_timings]
        mipro_s = [getattr(t, clock) for t in mipro_timings]
        pair_ratios = [m / r for m, r in zip(mipro_s, raw_s)]
        figures[clock] = {
            "raw_seconds": [round(x, 3) for x in raw_s],
            "mipro_seconds": [round(x, 3) for x in mipro_s],
            "overhead_of_medians_percent": round(
                100 * (statistics.median(mipro_s) / statistics.median(raw_s) - 1), 2),
            "median_pair_overhead_percent": round(100 * (statistics.median(pair_ratios) - 1), 2),
        }
    return figures


def capital_examples() -> list[Example]:
    return [Example(question=f"What is the capital of {country}?", answer=capital,
                    country=country).with_inputs("question") for country, capital in COUNTRIES]


def capital_program() -> Predict:
    """One predictor with 4 demos."""
    program = Predict("question -> answer", max_tokens=MAX_TOKENS)
    program.demos = [{"question": e.question, "answer": e.answer} for e in capital_examples()[:4]]
    return program


class CapitalThenCountry(Module):
    """Two predictors with 4 demos each, called in turn: the capital, then its country."""

    def __init__(self) -> None:
        self.capital = capital_program()
        self.country = Predict("city -> country", max_tokens=MAX_TOKENS)
        self.country.demos = [{"city": e.answer, "country": e.country}
                              for e in capital_examples()[:4]]

    def forward(self, question: str) -> Prediction:
        city = self.capital(question=question).answer
        return self.country(city=city)


def answer_matches(example: Example, prediction: Any) -> bool:
    expected = example.answer if "answer" in prediction else example.country
    return str(next(iter(prediction.values()))).strip().lower() == expected.lower()


def evaluation_runs(model: str, settings: dict[str, dict[str, Any]], repeats: int,
                    num_threads: int, program: Module) -> dict[str, Any]:
    """The 40-example evaluation under each LocalLM setting, interleaved; median seconds."""
    devset = capital_examples()[4:44]
    lms = {name: LocalLM(model, cache=False, **options) for name, options in settings.items()}
    runs: dict[str, list[Timing]] = {name: [] for name in settings}
    outcome: dict[str, Any] = {}
    for repeat in range(repeats + 1):  # the first round warms up and is not counted
        for name in list(settings) if repeat % 2 == 0 else list(settings)[::-1]:
            lm = lms[name]
            before = lm.usage.snapshot()
            evaluate = Evaluate(devset, answer_matches, num_threads=num_threads,
                                display_progress=False, lm=lm)
            results: list[Any] = []
            timing = timed(lambda: results.append(evaluate(program)))
            used = lm.usage.snapshot() - before
            if repeat:
                runs[name].append(timing)
            outcome[name] = {"settings": settings[name], "score": round(results[0].score, 3),
                             "calls": used.calls,
                             "prompt_tokens_per_call": round(used.prompt_tokens / used.calls)}
    for name, timings in runs.items():
        outcome[name]["wall_seconds"] = [round(t.wall, 3) for t in timings]
        outcome[name]["median_wall_seconds"] = round(statistics.median(t.wall for t in timings), 3)
        outcome[name]["median_cpu_seconds"] = round(statistics.median(t.cpu for t in timings), 3)
    return outcome


def ratio(figures: dict[str, Any], slow: str, fast: str, clock: str) -> float:
    key = f"median_{clock}_seconds"
    return round(figures[slow][key] / figures[fast][key], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = str(default_model_path())
    results: dict[str, Any] = {
        "model": Path(model).name, "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    results["throughput"] = {f"{n}_threads": throughput(model, n, args.repeats) for n in (1, 2)}
    print("throughput:", json.dumps(results["throughput"]))
    results["overhead"] = overhead(model, 1, max(args.repeats, 5))
    print("overhead:", json.dumps(results["overhead"]))
    reuse = evaluation_runs(model, {"reuse_on": {"prefix_reuse": True},
                                    "reuse_off": {"prefix_reuse": False}},
                            args.repeats, 2, capital_program())
    reuse["speedup_wall"] = ratio(reuse, "reuse_off", "reuse_on", "wall")
    reuse["speedup_cpu"] = ratio(reuse, "reuse_off", "reuse_on", "cpu")
    results["prefix_reuse"] = reuse
    print("prefix reuse:", json.dumps(reuse))
    routing = evaluation_runs(model, {"one_context": {"slots": 1, "n_threads": 1},
                                      "two_contexts": {"slots": 2, "n_threads": 1}},
                              args.repeats, 1, CapitalThenCountry())
    routing["speedup_wall"] = ratio(routing, "one_context", "two_contexts", "wall")
    routing["speedup_cpu"] = ratio(routing, "one_context", "two_contexts", "cpu")
    results["two_stage_routing"] = routing
    print("two-stage routing:", json.dumps(routing))
    layouts = {"1x2_threads": {"slots": 1, "n_threads": 2},
               "2x1_thread": {"slots": 2, "n_threads": 1}}
    results["context_layout"] = {
        f"evaluate_{threads}_threads": evaluation_runs(model, layouts, args.repeats, threads,
                                                      capital_program())
        for threads in (1, 2)
    }
    print("context layout:", json.dumps(results["context_layout"]))
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
