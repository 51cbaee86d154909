"""HotPotQA: multi-hop question answering with BM25 retrieval over the local passage corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mipro.program import BM25Index, ChainOfThought, Example, Module, Prediction, Retrieve
from mipro.signatures import InputField, OutputField, Signature
from mipro.tasks.corpus import corpus_index, with_new_passages
from mipro.tasks.files import data_file, read_jsonl, shuffled, text_field, text_list_field
from mipro.tasks.metrics import answer_exact_match
from mipro.tasks.task import Task

TRAIN_SIZE = 150


class GenerateSearchQuery(Signature):
    """Write a simple search query that will help answer a complex question."""

    context: list[str] = InputField(desc="may contain relevant facts")
    question: str = InputField()
    search_query: str = OutputField()


class GenerateAnswer(Signature):
    """Answer questions with short factoid answers."""

    context: list[str] = InputField(desc="may contain relevant facts")
    question: str = InputField()
    answer: str = OutputField(desc="often between 1 and 5 words")


class MultiHopQA(Module):
    """Two hops of query generation and retrieval, then an answer: three LM calls.

    Hop 1 writes a query from the question alone, hop 2 from the question and the passages found
    so far; ``generate_query`` serves both hops.
    """

    def __init__(self, index: BM25Index, *, passages_per_hop: int = 3, hops: int = 2) -> None:
        self.retrieve = Retrieve(index, k=passages_per_hop)
        self.generate_query = ChainOfThought(GenerateSearchQuery)
        self.generate_answer = ChainOfThought(GenerateAnswer)
        self.hops = hops

    def forward(self, question: str) -> Prediction:  # type: ignore[override]
        context: list[str] = []
        for _ in range(self.hops):
            query = self.generate_query(context=context, question=question).search_query
            context = with_new_passages(context, self.retrieve(query=query).passages)
        answer = self.generate_answer(context=context, question=question).answer
        return Prediction(context=context, answer=answer)


def make_multihop_qa() -> MultiHopQA:
    """A fresh ``MultiHopQA`` over the shared corpus index."""
    return MultiHopQA(corpus_index())


def read_questions(path: Path) -> list[Example]:
    """The questions of a HotPotQA JSONL file (``id``, ``question``, ``answers``, ``gold_titles``)."""
    return read_jsonl(path, _question)


def load_hotpotqa() -> Task:
    # Train and validation: train.jsonl (already a seeded shuffle) cut at 150; test: dev.jsonl
    # shuffled with random.Random(0).
    train = read_questions(data_file("hotpotqa", "train.jsonl"))
    trainset, valset = train[:TRAIN_SIZE], train[TRAIN_SIZE:]
    testset = shuffled(read_questions(data_file("hotpotqa", "dev.jsonl")), seed=0)
    return Task(
        name="hotpotqa",
        description="Multi-hop question answering: two retrieval hops over 5,852 HotPotQA "
        "passages (BM25), then a short answer; exact match.",
        make_program=make_multihop_qa,
        trainset=trainset,
        valset=valset,
        testset=testset,
        metric=answer_exact_match,
    )


def _question(row: dict[str, Any]) -> Example:
    answers = text_list_field(row, "answers")
    return Example(
        id=text_field(row, "id"),
        question=text_field(row, "question").strip(),
        answer=answers[0],
        answers=answers,
        gold_titles=text_list_field(row, "gold_titles"),
    ).with_inputs("question")
