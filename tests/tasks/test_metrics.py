from mipro import Example, Prediction
from mipro.tasks.metrics import (
    answer_exact_match,
    exact_match,
    gold_titles_retrieved,
    normalize_text,
    passage_title,
)


def test_normalize_text_lowercases_and_drops_punctuation_articles_and_extra_spaces():
    assert normalize_text("  The  Beaver and Erie Canal! ") == "beaver and erie canal"
    assert normalize_text("A record of 13–3.") == "record of 13–3"
    assert normalize_text("an apple, a pear") == "apple pear"


def test_normalize_text_keeps_articles_inside_words():
    assert normalize_text("Theatre Anatomy") == "theatre anatomy"


def test_normalize_text_uses_unicode_nfd_like_dspy():
    # NFD splits accents from letters, so composed and decomposed spellings compare equal.
    assert normalize_text("Hürtgen") == normalize_text("Hu\u0308rtgen")


def test_exact_match_accepts_any_gold_answer():
    assert exact_match("the Pixar", ["Disney", "Pixar"])
    assert not exact_match("Pixar Studios", ["Disney", "Pixar"])


def test_answer_exact_match_reads_answers_list_or_single_answer():
    with_list = Example(question="q", answer="Lima", answers=["Lima", "Lima, Peru"])
    assert answer_exact_match(with_list, Prediction(answer="lima peru"))
    single = Example(question="q", answer="yes")
    assert answer_exact_match(single, Prediction(answer="Yes."))
    assert not answer_exact_match(single, Prediction(answer="no"))


def test_passage_title_is_the_text_before_the_first_separator():
    assert passage_title("Bangor, Maine | Bangor is a city | in Maine.") == "Bangor, Maine"


def test_gold_titles_retrieved_needs_every_gold_title():
    passages = ["ASAP Rocky | Rakim Mayers is...", "Harlem | Harlem is...", "Other | text"]
    assert gold_titles_retrieved(["ASAP Rocky", "harlem"], passages)
    assert not gold_titles_retrieved(["ASAP Rocky", "Vicious Lies"], passages)
    assert not gold_titles_retrieved(["ASAP Rocky"], [])
