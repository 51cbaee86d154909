"""HoVer: multi-hop retrieval of the Wikipedia passages that a claim needs to be verified.

Offline, retrieval runs over the HotPotQA passages, on the 50 HoVer dev claims whose gold titles
are all among them (see ``data/hover/NOTICE.md``).
"""

from __future__ import annotations

from typing import Any

from mipro.program import BM25Index, ChainOfThought, Example, Module, Prediction, Retrieve
from mipro.signatures import InputField, OutputField, Signature
from mipro.tasks.corpus import corpus_index, with_new_passages
from mipro.tasks.files import data_file, read_jsonl, shuffled, split, text_field, text_list_field
from mipro.tasks.metrics import gold_titles_retrieved
from mipro.tasks.task import Task

TRAIN_SIZE = 20
VAL_SIZE = 15


class FirstQuery(Signature):
    """Write a search query that finds the Wikipedia passages needed to verify the claim."""

    claim: str = InputField()
    query: str = OutputField()


class NextQuery(Signature):
    """Given a claim and the passages found so far, write a search query that finds the missing
    passages needed to verify the claim."""

    claim: str = InputField()
    passages: list[str] = InputField(desc="passages retrieved so far")
    query: str = OutputField()


class HoverMultiHop(Module):
    """Three hops of query generation and retrieval, collecting the passages: three LM calls."""

    def __init__(self, index: BM25Index, *, passages_per_hop: int = 3) -> None:
        self.retrieve = Retrieve(index, k=passages_per_hop)
        self.create_query_hop1 = ChainOfThought(FirstQuery)
        self.create_query_hop2 = ChainOfThought(NextQuery)
        self.create_query_hop3 = ChainOfThought(NextQuery)

    def forward(self, claim: str) -> Prediction:  # type: ignore[override]
        query = self.create_query_hop1(claim=claim).query
        passages = self.retrieve(query=query).passages
        for create_query in (self.create_query_hop2, self.create_query_hop3):
            query = create_query(claim=claim, passages=passages).query
            passages = with_new_passages(passages, self.retrieve(query=query).passages)
        return Prediction(retrieved_passages=passages)


def make_hover_program() -> HoverMultiHop:
    """A fresh ``HoverMultiHop`` over the shared corpus index."""
    return HoverMultiHop(corpus_index())


def all_gold_passages_retrieved(example: Example, prediction: Prediction) -> bool:
    """Every gold title of the claim is among the titles of the retrieved passages."""
    return gold_titles_retrieved(example.gold_titles, prediction.retrieved_passages)


def claim_examples() -> list[Example]:
    """The 50 claims of ``data/hover/claims.jsonl``, in file order."""
    return read_jsonl(data_file("hover", "claims.jsonl"), _claim)


def load_hover() -> Task:
    trainset, valset, testset = split(shuffled(claim_examples(), seed=0), TRAIN_SIZE, VAL_SIZE)
    return Task(
        name="hover",
        description="HoVer claim retrieval: three hops of query generation and BM25 retrieval; "
        "score 1 when every gold passage title was retrieved. 50 claims, HotPotQA passages.",
        make_program=make_hover_program,
        trainset=trainset,
        valset=valset,
        testset=testset,
        metric=all_gold_passages_retrieved,
    )


def _claim(row: dict[str, Any]) -> Example:
    label = text_field(row, "label")
    if label not in ("SUPPORTED", "NOT_SUPPORTED"):
        raise ValueError(f"label must be SUPPORTED or NOT_SUPPORTED, got {label!r}")
    return Example(
        id=text_field(row, "uid"),
        claim=text_field(row, "claim"),
        gold_titles=text_list_field(row, "gold_titles"),
        label=label,
    ).with_inputs("claim")
