"""The one way a run derives randomness: a named sub-seed of (seed, purpose), by hashing.

Every random choice of a run (minibatches, the held-out selection examples, the TPE sampler,
resampling) takes ``sub_seed(seed, purpose...)``, never ad-hoc arithmetic on the seed: any
int seed works (negative or huge), and two purposes never share a random stream.
"""

from __future__ import annotations

import hashlib

SEED_BITS = 32
"""Sub-seeds fit in 32 bits, the widest seed NumPy's legacy generator (Optuna's) accepts."""


def sub_seed(seed: int, *purpose: object) -> int:
    """A seed in ``[0, 2**32)`` for one ``purpose`` of the run seeded by ``seed``, e.g.
    ``sub_seed(seed, "minibatch", trial_number)``; stable across processes and Python versions."""
    material = ":".join(str(part) for part in (seed, *purpose)).encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:SEED_BITS // 8], "big")
