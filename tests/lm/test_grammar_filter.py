"""GrammarFilter: tiered grammar checks give the token llama.cpp's full grammar check gives."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from llama_cpp import Llama, LlamaGrammar, LogitsProcessorList

from mipro import ConfigurationError
from mipro.lm.grammar_filter import GrammarFilter
from mipro.lm.local import default_model_path

SPECIES = 'root ::= " " ("setosa" | "versicolor" | "virginica") "\\n"?'


@pytest.fixture(scope="module")
def vocab_llama() -> Iterator[Llama]:
    """The embedded model's tokenizer only (no weights): enough for grammar checks."""
    yield Llama(str(default_model_path()), vocab_only=True, verbose=False)


def tokens(llama: Llama, text: str) -> list[int]:
    return llama.tokenize(text.encode(), add_bos=False, special=False)


def best(filter_: GrammarFilter, prompt: list[int], scores: np.ndarray) -> int:
    return int(np.argmax(filter_(np.array(prompt, dtype=np.intc), scores.copy())))


@pytest.mark.parametrize("greedy", [False, True])
def test_tiers_pick_the_token_a_full_vocabulary_check_picks(vocab_llama, greedy):
    rng = np.random.default_rng(0)
    size = vocab_llama.n_vocab()
    for _ in range(20):
        scores = rng.normal(size=size).astype(np.single)
        tiered = GrammarFilter(vocab_llama, SPECIES, greedy=greedy)
        full = GrammarFilter(vocab_llama, SPECIES, tiers=())
        assert best(tiered, [1], scores) == best(full, [1], scores)


def test_greedy_filter_leaves_scores_alone_when_the_best_token_is_allowed(vocab_llama):
    scores = np.zeros(vocab_llama.n_vocab(), dtype=np.single)
    scores[tokens(vocab_llama, " set")[0]] = 3.0
    kept = GrammarFilter(vocab_llama, SPECIES, greedy=True)(np.array([1], np.intc), scores.copy())
    assert np.array_equal(kept, scores)
    sampled = GrammarFilter(vocab_llama, SPECIES)(np.array([1], np.intc), scores.copy())
    assert np.isinf(sampled).sum() > len(scores) - 100  # sampling keeps only allowed tokens


def test_allowed_tokens_beyond_the_first_tiers_are_found(vocab_llama):
    ones = np.ones(vocab_llama.n_vocab(), dtype=np.single)
    allowed = np.isfinite(GrammarFilter(vocab_llama, SPECIES, tiers=())(np.array([1], np.intc), ones))
    assert 0 < allowed.sum() < 100
    scores = np.where(allowed, 1.0, 10.0).astype(np.single)  # every allowed token ranks last
    scores[np.flatnonzero(allowed)[-1]] = 2.0
    kept = GrammarFilter(vocab_llama, SPECIES)(np.array([1], np.intc), scores)
    assert np.array_equal(np.isfinite(kept), allowed)
    assert int(np.argmax(kept)) == np.flatnonzero(allowed)[-1]


def test_the_filter_follows_the_generated_tokens(vocab_llama):
    filter_ = GrammarFilter(vocab_llama, SPECIES)
    prompt = [1, 2, 3]
    scores = np.zeros(vocab_llama.n_vocab(), dtype=np.single)
    first = tokens(vocab_llama, " vers")
    assert len(first) == 1
    scores[first[0]] = 5.0
    assert best(filter_, prompt, scores) == first[0]
    # After " vers" only "icolor" can follow, even if the model prefers "eto".
    rest = tokens(vocab_llama, "icolor")
    scores[:] = 0.0
    scores[tokens(vocab_llama, "eto")[0]] = 9.0
    scores[rest[0]] = 1.0
    assert best(filter_, prompt + first, scores) == rest[0]


def test_a_broken_grammar_is_a_configuration_error(vocab_llama):
    with pytest.raises(ConfigurationError, match="cannot parse the GBNF grammar"):
        GrammarFilter(vocab_llama, 'root ::= "unterminated')


@pytest.mark.real_lm
def test_greedy_replies_equal_those_of_llama_cpp_grammar_sampler():
    llama = Llama(str(default_model_path()), n_ctx=512, n_threads=1, seed=0, verbose=False)
    grammar = 'root ::= " " [^\\r\\n\\t ] [^\\r\\n]{0,80} "\\nAnswer: " ("yes" | "no") "\\n"?'
    for question in ["Is the sky blue?", "Can fish fly?"]:
        prompt = f"Question: {question}\nReasoning:"
        options = {"max_tokens": 48, "temperature": 0.0, "seed": 0}
        reference = llama.create_completion(
            prompt, grammar=LlamaGrammar.from_string(grammar, verbose=False), **options
        )["choices"][0]["text"]
        filtered = llama.create_completion(
            prompt,
            logits_processor=LogitsProcessorList([GrammarFilter(llama, grammar, greedy=True)]),
            **options,
        )["choices"][0]["text"]
        assert filtered == reference
        assert reference.rstrip("\n").rsplit("Answer: ", 1)[1] in ("yes", "no")
