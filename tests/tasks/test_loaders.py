import json

import pytest

import mipro.tasks
from mipro import ConfigurationError
from mipro.tasks import Task, available_tasks, load_task
from mipro.tasks.corpus import PASSAGE_WORDS, corpus_index, render_passage
from mipro.tasks.files import data_file
from mipro.tasks.heart_disease import patient_examples
from mipro.tasks.hotpotqa import read_questions
from mipro.tasks.metrics import passage_title
from mipro.tasks.scone import question_from_hypothesis, read_scone

SIZES = {
    "breast_cancer": (100, 100, 200),
    "heart_disease": (60, 60, 183),
    "hotpotqa": (150, 150, 300),
    "hotpotqa_conditional": (150, 150, 300),
    "hover": (20, 15, 15),
    "iris": (35, 40, 75),
    "iris_typo": (35, 40, 75),
    "scone": (500, 500, 500),
    "wine": (60, 50, 68),
}
INPUTS = {
    "breast_cancer": ("radius", "texture", "perimeter", "area", "smoothness", "compactness",
                      "concavity", "concave_points", "symmetry", "fractal_dimension"),
    "heart_disease": ("age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach",
                      "exang", "oldpeak", "slope", "ca", "thal"),
    "hotpotqa": ("question",),
    "hotpotqa_conditional": ("question",),
    "hover": ("claim",),
    "iris": ("petal_length", "petal_width", "sepal_length", "sepal_width"),
    "iris_typo": ("petal_length", "petal_width", "sepal_length", "sepal_width"),
    "scone": ("context", "question"),
    "wine": ("alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
             "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
             "od280_od315", "proline"),
}


@pytest.fixture(scope="module", params=sorted(SIZES))
def task(request) -> Task:
    return load_task(request.param)


def test_available_tasks_lists_every_task():
    assert available_tasks() == sorted(SIZES)


def test_unknown_task_names_the_available_ones():
    with pytest.raises(ConfigurationError, match="unknown task 'hotpot'.*hotpotqa, hotpotqa_cond"):
        load_task("hotpot")


def test_split_sizes(task):
    sizes = (len(task.trainset), len(task.valset), len(task.testset))
    assert sizes == SIZES[task.name]


def test_splits_are_disjoint(task):
    def ids(examples):
        return [example.id for example in examples]

    def inputs(examples):
        return {tuple(example.inputs().items()) for example in examples}

    for split in (task.trainset, task.valset, task.testset):
        assert len(set(ids(split))) == len(split)
    assert not set(ids(task.testset)) & set(ids(task.trainset) + ids(task.valset))
    assert not inputs(task.testset) & (inputs(task.trainset) | inputs(task.valset))
    # Demos come from the trainset; the validation set that chooses among them is disjoint.
    assert not set(ids(task.trainset)) & set(ids(task.valset))
    assert not inputs(task.trainset) & inputs(task.valset)


def test_inputs_are_marked_and_labels_present(task):
    for example in task.trainset + task.valset + task.testset:
        assert set(example.input_keys) == set(INPUTS[task.name])
        assert example.labels()


def test_loading_twice_gives_the_same_splits(task):
    again = load_task(task.name)
    assert (again.trainset, again.valset, again.testset) == (
        task.trainset, task.valset, task.testset
    )


def test_make_program_returns_fresh_programs(task):
    first, second = task.make_program(), task.make_program()
    assert first is not second
    assert first.named_predictors()
    first_predictor = first.named_predictors()[0][1]
    first_predictor.demos = [{"x": 1}]
    assert second.named_predictors()[0][1].demos == []


@pytest.mark.parametrize(("name", "labels"), [
    ("iris", {"setosa", "versicolor", "virginica"}),
    ("heart_disease", {"yes", "no"}),
    ("scone", {"Yes", "No"}),
    ("wine", {"class_0", "class_1", "class_2"}),
    ("breast_cancer", {"malignant", "benign"}),
])
def test_classification_answers_are_in_the_label_set(name, labels):
    task = load_task(name)
    answers = {example.answer for example in task.trainset + task.testset}
    assert answers == labels


def test_heart_disease_maps_codes_to_words_like_the_paper():
    patients = {patient.id: patient for patient in patient_examples()}
    first = patients["cleveland-1"]  # 63,1,1,145,233,1,2,150,0,2.3,3,0,6,num 0
    assert dict(first.inputs()) == {
        "age": "63", "sex": "male", "cp": "typical angina", "trestbps": "145", "chol": "233",
        "fbs": "true", "restecg": "left ventricular hypertrophy", "thalach": "150", "exang": "no",
        "oldpeak": "2.3", "slope": "downsloping", "ca": "0", "thal": "fixed defect",
    }
    assert first.answer == "no"
    assert sum(value == "unknown" for p in patients.values() for value in p.inputs().values()) == 6
    assert sum(p.answer == "yes" for p in patients.values()) == 139


def test_measurement_rows_keep_the_values_as_written():
    first = next(e for e in load_task("wine").trainset + load_task("wine").valset
                 + load_task("wine").testset if e.id == "wine-1")
    # wine_data.csv line 2: 14.23,1.71,2.43,15.6,127,2.8,3.06,0.28,2.29,5.64,1.04,3.92,1065,0
    assert first.alcohol == "14.23" and first.proline == "1065" and first.answer == "class_0"
    tumour = next(e for e in load_task("breast_cancer").testset + load_task("breast_cancer").valset
                  + load_task("breast_cancer").trainset if e.id == "wdbc-1")
    assert tumour.radius == "17.99" and tumour.fractal_dimension == "0.07871"
    assert tumour.answer == "malignant"


def test_scone_question_follows_the_paper_template():
    assert question_from_hypothesis("There is a man not wearing a hat.") == (
        "Can we logically conclude for sure that there is a man not wearing a hat?"
    )


def test_scone_splits_mix_all_six_categories():
    task = load_task("scone")
    assert len({example.category for example in task.testset}) == 6


def test_every_gold_title_is_in_the_corpus():
    titles = {passage_title(passage) for passage in corpus_index().passages}
    for name in ("hotpotqa", "hover"):
        task = load_task(name)
        for example in task.trainset + task.valset + task.testset:
            assert set(example.gold_titles) <= titles, example.id


def test_passages_are_title_and_text_cut_to_a_word_budget():
    short = render_passage({"title": "Lima", "text": "Lima is the capital of Peru."})
    assert short == "Lima | Lima is the capital of Peru."
    words = " ".join(f"w{i}" for i in range(PASSAGE_WORDS + 5))
    cut = render_passage({"title": "Long", "text": words})
    assert cut == f"Long | {' '.join(words.split()[:PASSAGE_WORDS])} ..."
    assert max(len(p.split(" | ", 1)[1].split()) for p in corpus_index().passages) <= PASSAGE_WORDS + 1


def test_corpus_index_is_built_once_and_shared():
    assert corpus_index() is corpus_index()
    first, second = load_task("hotpotqa").make_program(), load_task("hover").make_program()
    assert first.retrieve.index is second.retrieve.index is corpus_index()


def test_malformed_csv_row_names_file_and_line(tmp_path):
    path = tmp_path / "two_scoped.csv"
    path.write_text(
        ",sentence1_edited,sentence2_edited,gold_label_edited\n"
        "0,A man sleeps.,A person sleeps.,entailment\n"
        "1,A man sleeps.,A person sleeps.,contradiction\n"
    )
    with pytest.raises(ConfigurationError, match=r"two_scoped\.csv, line 3: .*contradiction"):
        read_scone(path)


def test_csv_row_with_missing_columns_names_file_and_line(tmp_path):
    path = tmp_path / "no_negation.csv"
    path.write_text(",sentence1_edited,sentence2_edited,gold_label_edited\n0,A man sleeps.\n")
    with pytest.raises(ConfigurationError, match=r"no_negation\.csv, line 2: .*expected 4 columns"):
        read_scone(path)


@pytest.mark.parametrize(("line", "reason"), [
    ("{not json", "Expecting property name"),
    ('{"id": "x", "question": "q?", "answers": [], "gold_titles": ["T"]}', "'answers'"),
    ('{"id": "x", "question": "q?", "gold_titles": ["T"]}', "missing field 'answers'"),
    ('["a list"]', "expected a JSON object"),
])
def test_malformed_jsonl_row_names_file_and_line(tmp_path, line, reason):
    good = {"id": "a", "question": "q?", "answers": ["A"], "gold_titles": ["T"]}
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(good) + "\n" + line + "\n")
    with pytest.raises(ConfigurationError, match=rf"dev\.jsonl, line 2: .*{reason}"):
        read_questions(path)


def test_missing_data_file_says_to_reinstall():
    with pytest.raises(ConfigurationError, match="missing; reinstall mipro"):
        data_file("iris", "no_such_file.csv")


def test_conditional_examples_carry_rule_assigned_answer_types():
    task = load_task("hotpotqa_conditional")
    examples = task.trainset + task.valset + task.testset
    counts = {kind: sum(e.answer_type == kind for e in examples) for kind in
              ("person", "place", "date", "other")}
    assert counts == {"person": 126, "place": 52, "date": 8, "other": 414}
    plain = load_task("hotpotqa")
    assert [e.id for e in task.testset] == [e.id for e in plain.testset]


def test_public_names_are_sorted():
    assert mipro.tasks.__all__ == sorted(mipro.tasks.__all__)
