"""Stage 0: check the data, and split off a validation set when none is given."""

from __future__ import annotations

import random
from collections.abc import Sequence

from mipro.errors import ConfigurationError
from mipro.program import Example


def split_data(trainset: Sequence[Example], valset: Sequence[Example] | None, *, seed: int,
               max_valset: int | None) -> tuple[list[Example], list[Example]]:
    """(trainset, valset) after checking every row. Without a valset, half of the shuffled
    trainset is held out; a valset larger than ``max_valset`` is sampled down (both seeded)."""
    if not trainset:
        raise ConfigurationError("trainset is empty: the optimizer needs training examples")
    for label, examples in (("trainset", trainset), ("valset", valset or [])):
        for row, example in enumerate(examples):
            if not isinstance(example, Example) or not example.input_keys:
                raise ConfigurationError(
                    f"{label}[{row}] is not an Example with inputs marked; build rows as "
                    "Example(question=..., answer=...).with_inputs('question')"
                )
    train = list(trainset)
    if valset is None:
        shuffled = train[:]
        random.Random(seed).shuffle(shuffled)
        cut = max(1, len(shuffled) // 2)
        train, valset = shuffled[:cut], shuffled[cut:] or shuffled[:cut]
    val = list(valset)
    if max_valset is not None and len(val) > max_valset:
        val = random.Random(seed).sample(val, max_valset)
    return train, val
