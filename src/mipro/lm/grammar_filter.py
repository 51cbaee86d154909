"""Grammar-constrained decoding for llama.cpp that tests the model's favourite tokens first.

llama.cpp's grammar sampler (``grammar=`` in llama-cpp-python) checks every token of the
vocabulary, 49,152 for SmolLM2, at every step: on two CPU cores that costs about as much as
running the 135M model itself. The token the constrained reply takes is almost always among the
model's first few candidates, so ``GrammarFilter`` checks the best 64, then the best 4,096, and
the whole vocabulary only when none of those is allowed; for greedy decoding it first checks
the single best token, and leaves the scores alone when the grammar allows it.

Greedy decoding gives exactly the reply of llama.cpp's grammar sampler: the best allowed token
is always in the first tier that has an allowed token. With temperature > 0, the allowed tokens
of that tier are kept; the ones of later tiers, which sampling's ``top_k``/``min_p`` would nearly
always cut anyway, are dropped.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mipro.errors import ConfigurationError

if TYPE_CHECKING:
    from llama_cpp import Llama

TIERS = (64, 4096)
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class GrammarFilter:
    """A llama-cpp-python logits processor that keeps only the tokens a GBNF grammar allows.

    One filter serves one generation (it follows the tokens generated so far); ``greedy`` says
    that the generation takes the best token (temperature 0)::

        keep_allowed = GrammarFilter(llama, gbnf, greedy=temperature == 0)
        llama.create_completion(prompt, logits_processor=LogitsProcessorList([keep_allowed]))
    """

    def __init__(
        self, llama: Llama, grammar: str, *, greedy: bool = False, tiers: Sequence[int] = TIERS
    ) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
        if not sampler:
            raise ConfigurationError(
                f"llama.cpp cannot parse the GBNF grammar {grammar!r} (its error is on stderr); "
                "fix the grammar, which needs a `root` rule"
            )
        self._sampler = sampler
        self._close = weakref.finalize(self, llama_cpp.llama_sampler_free, sampler)
        self._greedy = greedy
        self._tiers = tuple(tiers)
        self._prompt_length: int | None = None
        self._accepted = 0

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        self._follow(input_ids)
        if self._greedy and self._allowed(np.array([np.argmax(scores)], dtype=np.intc))[0]:
            return scores
        for tier in self._tiers:
            if tier >= len(scores):
                break
            candidates = np.argpartition(-scores, tier)[:tier]
            allowed = candidates[self._allowed(candidates)]
            if len(allowed):
                return _keep(scores, allowed)
        everything = np.arange(len(scores), dtype=np.intc)
        return _keep(scores, everything[self._allowed(everything)])

    def close(self) -> None:
        """Free the llama.cpp grammar now rather than when the filter is collected."""
        self._close()

    def _follow(self, input_ids: npt.NDArray[np.intc]) -> None:
        """Advance the grammar over the tokens generated since the last step."""
        if self._prompt_length is None:
            self._prompt_length = len(input_ids)
        for token in input_ids[self._prompt_length + self._accepted:]:
            self._llama_cpp.llama_sampler_accept(self._sampler, int(token))
            self._accepted += 1

    def _allowed(self, tokens: npt.NDArray[np.intp] | npt.NDArray[np.intc]) -> npt.NDArray[np.bool_]:
        llama_cpp = self._llama_cpp
        data = (llama_cpp.llama_token_data * len(tokens))()
        view = np.frombuffer(data, dtype=_TOKEN_DATA)
        view["id"] = tokens
        array = llama_cpp.llama_token_data_array(data, len(tokens), -1, False)
        llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(array))
        allowed: npt.NDArray[np.bool_] = view["logit"] != -np.inf
        return allowed


def _keep(scores: npt.NDArray[np.single], tokens: npt.NDArray[np.intp]) -> npt.NDArray[np.single]:
    kept = np.full_like(scores, -np.inf)
    kept[tokens] = scores[tokens]
    return kept
