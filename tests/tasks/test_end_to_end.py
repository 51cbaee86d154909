"""Every task's program on the embedded model, on two test examples each (slow, bounded).

One LM with a cache in a temporary directory serves all tasks: ``hotpotqa_conditional`` runs the
same program on the same questions as ``hotpotqa``, so its LM replies come from the cache.
"""

from collections.abc import Iterator

import pytest

from mipro import using_lm
from mipro.lm.cache import SQLiteCache
from mipro.lm.local import LocalLM
from mipro.tasks import available_tasks, load_task

EXAMPLES_PER_TASK = 2
SPECIES = {"setosa", "versicolor", "virginica"}
# The prediction field each program writes, and its label set when the output is typed.
OUTPUTS: dict[str, tuple[str, set[str] | None]] = {
    "breast_cancer": ("answer", {"malignant", "benign"}),
    "heart_disease": ("answer", {"yes", "no"}),
    "hotpotqa": ("answer", None),
    "hotpotqa_conditional": ("answer", None),
    "hover": ("retrieved_passages", None),
    "iris": ("answer", SPECIES),
    "iris_typo": ("answer", SPECIES),
    "scone": ("answer", {"Yes", "No"}),
    "wine": ("answer", {"class_0", "class_1", "class_2"}),
}


@pytest.fixture(scope="module")
def local_lm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLM]:
    cache = SQLiteCache(tmp_path_factory.mktemp("lm_cache") / "lm_cache.sqlite")
    yield LocalLM(cache=cache)
    cache.close()


@pytest.mark.real_lm
@pytest.mark.parametrize("name", available_tasks())
def test_program_runs_end_to_end_on_the_embedded_model(name, local_lm):
    task = load_task(name)
    program = task.make_program()
    field, labels = OUTPUTS[name]
    before = local_lm.usage.snapshot()
    with using_lm(local_lm):
        for example in task.testset[:EXAMPLES_PER_TASK]:
            prediction = program(**example.inputs())
            assert prediction[field], f"{name}: empty {field} for {example.id}"
            if labels is not None:
                assert prediction[field] in labels
            assert float(task.metric(example, prediction)) in (0.0, 1.0)
    used = local_lm.usage.snapshot() - before
    assert used.calls + used.cache_hits >= EXAMPLES_PER_TASK * len(program.predictors())
