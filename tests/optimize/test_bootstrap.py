import random
import re
from collections import Counter

import pytest

from mipro.optimize.bootstrap import (
    BootstrapRequest,
    _allocate_traces,
    _label_diverse_order,
    _PassingTrace,
    bootstrap_budget,
    bootstrap_demo_sets,
)
from mipro.optimize.run.candidates import Candidates, PredictorCandidates
from mipro.program import Example, Module, Predict
from mipro.testing import ScriptedLM, SimulatedLM, SimulatedProgram, exact_answer, make_examples
from mipro.testing.simulated import unit_hash

LABELS = ("pos", "neg", "neutral")


def labeled_examples(count):
    """Texts ``t<i>`` whose label is mostly ``pos`` (60%), as real class balance often is."""
    return [Example(text=f"t{i}", label=LABELS[0] if i % 5 < 3 else LABELS[1 + i % 2]).with_inputs("text")
            for i in range(count)]


class Classifier(Module):
    def __init__(self, lm):
        self.classify = Predict(f"text -> label: Literal{list(LABELS)}", lm=lm)

    def forward(self, text):
        return self.classify(text=text)


def classifier_lm(pass_rate, examples):
    """Answers example ``t<i>`` right with chance ``pass_rate`` (fixed per example)."""
    gold = {example.text: example.label for example in examples}

    def reply(request):
        text = re.findall(r"Text: (\S+)", request.prompt)[-1]
        right = unit_hash("classify", text) < pass_rate
        return " " + (gold[text] if right else next(l for l in LABELS if l != gold[text]))
    return ScriptedLM(reply)


def label_match(example, prediction):
    return prediction.label == example.label


def demo_set_overlap(demo_sets):
    return Candidates(predictors={
        name: PredictorCandidates(instructions=("",), demo_sets=tuple(sets), proposals=(None,))
        for name, sets in demo_sets.items()}).demo_set_overlap()


def test_demo_sets_from_100_examples_overlap_little_across_seeds():
    train = labeled_examples(100)
    for seed in range(5):
        lm = classifier_lm(0.5, train)
        sets = bootstrap_demo_sets(Classifier(lm), train, label_match, BootstrapRequest(num_sets=6),
                                   seed=seed, display_progress=False).demo_sets
        assert [len(s) for s in sets["classify"]] == [0, 4, 4, 4, 4, 4]
        assert demo_set_overlap(sets) <= 0.25
    for seed in range(5):  # two stages, a quarter of the runs passing
        sets = bootstrap_demo_sets(SimulatedProgram(SimulatedLM(base=0.5)), make_examples(100),
                                   exact_answer, BootstrapRequest(num_sets=6), seed=seed,
                                   display_progress=False).demo_sets
        assert all(sets["hint"][2:]) and demo_set_overlap(sets) <= 0.25


def test_labeled_demos_are_balanced_across_labels():
    train = labeled_examples(100)
    sets = bootstrap_demo_sets(Classifier(classifier_lm(0.5, train)), train, label_match,
                               BootstrapRequest(num_sets=6, max_labeled_demos=6), seed=0,
                               display_progress=False).demo_sets
    for demos in sets["classify"][1:]:
        counts = Counter(demo["label"] for demo in demos)
        assert set(counts) == set(LABELS) and max(counts.values()) - min(counts.values()) <= 1
    labeled_only = sets["classify"][1]
    assert all("reasoning" not in demo for demo in labeled_only)


def test_a_str_output_with_few_values_counts_as_categorical():
    train = [Example(question=f"q{i}", answer="yes" if i % 4 else "no").with_inputs("question")
             for i in range(40)]
    program = Module()
    program.answer = Predict("question -> answer", lm=ScriptedLM(lambda r: " maybe"))
    sets = bootstrap_demo_sets(program, train, exact_answer, BootstrapRequest(num_sets=2),
                               seed=3, display_progress=False).demo_sets
    assert Counter(demo["answer"] for demo in sets["answer"][1]) == {"yes": 2, "no": 2}


def test_bootstrapping_stops_once_every_set_can_be_filled():
    train = labeled_examples(100)
    request = BootstrapRequest(num_sets=6)
    assert bootstrap_budget(request, 100) == 4 * 4 * 4
    good = classifier_lm(1.0, train)
    bootstrap_demo_sets(Classifier(good), train, label_match, request, seed=0, display_progress=False)
    assert len(good.requests) < 2 * 4 * 4  # far below the budget: most runs pass
    hopeless = classifier_lm(0.0, train)
    sets = bootstrap_demo_sets(Classifier(hopeless), train, label_match, request, seed=0,
                               display_progress=False).demo_sets
    assert len(hopeless.requests) == bootstrap_budget(request, 100)  # never more than the budget
    assert all(len(demos) == 4 for demos in sets["classify"][1:])  # labeled demos fill the sets


@pytest.mark.parametrize("pass_rate", [0.3, 1.0])
def test_shown_is_every_training_example_an_lm_saw(pass_rate):
    train = labeled_examples(100)
    lm = classifier_lm(pass_rate, train)
    built = bootstrap_demo_sets(Classifier(lm), train, label_match, BootstrapRequest(num_sets=6),
                                seed=1, display_progress=False)
    asked = {re.findall(r"Text: (\S+)", request.prompt)[-1] for request in lm.requests}
    in_demos = {demo["text"] for sets in built.demo_sets.values() for demos in sets for demo in demos}
    assert {train[i].text for i in built.shown} == asked | in_demos
    assert 0 < len(built.shown) < 100  # the rest is left for selection to confirm on


def test_no_traced_sets_means_no_bootstrapping_runs():
    train = labeled_examples(20)
    lm = classifier_lm(1.0, train)
    sets = bootstrap_demo_sets(Classifier(lm), train, label_match, BootstrapRequest(num_sets=2),
                               seed=0, display_progress=False).demo_sets
    assert lm.requests == [] and len(sets["classify"]) == 2


@pytest.mark.parametrize("sets", [
    {"p": [(), ({"a": 1}, {"a": 2}), ({"a": 2}, {"a": 3})]},
    {"p": [({"a": 1},), ({"a": 1},)], "q": [({"b": 1},), ({"b": 2},)]},
])
def test_overlap_is_the_shared_share_of_the_smaller_set(sets):
    assert demo_set_overlap(sets) == 0.5
    assert demo_set_overlap({"p": [(), ({"a": 1},)]}) is None


def test_demo_sets_cycle_through_final_outputs():
    traced = [_PassingTrace(i, {}, "setosa") for i in range(6)]
    traced += [_PassingTrace(10, {}, "virginica"), _PassingTrace(11, {}, "versicolor")]
    order = _label_diverse_order(traced, random.Random(0))
    assert sorted(t.index for t in order) == sorted(t.index for t in traced)
    assert {t.final_output for t in order[:3]} == {"setosa", "virginica", "versicolor"}


def test_one_output_fills_at_most_half_a_set():
    same = [_PassingTrace(i, {}, "setosa") for i in range(6)]
    assert len(_allocate_traces(same, [4], seed=0)[0]) == 2
    mixed = same[:3] + [_PassingTrace(9, {}, "virginica")]
    chosen = _allocate_traces(mixed, [4], seed=0)[0]
    assert Counter(t.final_output for t in chosen) == {"setosa": 2, "virginica": 1}


def test_scarce_traces_are_shared_out_not_repeated():
    traced = [_PassingTrace(i, {}, f"out{i}") for i in range(5)]
    chosen = _allocate_traces(traced, [4, 4, 4, 4], seed=0)
    assert sorted(len(c) for c in chosen) == [1, 1, 1, 2]
    assert sorted(t.index for c in chosen for t in c) == [0, 1, 2, 3, 4]
