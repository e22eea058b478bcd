"""The survey training rows never come close to an evaluation text, and a concept is never split."""

from __future__ import annotations

from collections import defaultdict

from training.eval_sentiment import QUOTED, handwritten_sets
from training.sentiment_data import LABELS, LANGS
from training.survey_training import MAX_EVAL_SIMILARITY, eval_similarity, load_survey_training


def _rows():
    parts = load_survey_training()
    return [e for rows in parts.values() for e in rows], parts


def _sentiment_test_texts() -> list[str]:
    """The shipped model's own test cases (tests/test_sentiment.py): evaluation texts too."""
    import test_sentiment  # noqa: PLC0415 - a sibling test module (pytest puts tests/ on sys.path)

    cases = [c.values if hasattr(c, "values") else c for c in test_sentiment.SURVEY]
    return [t for pair in test_sentiment.CLEAR.values() for t in pair] + [text for _, text, _ in cases]


def test_no_training_row_is_near_an_evaluation_text():
    rows, _ = _rows()
    eval_texts = [e.text for s in handwritten_sets().values() for e in s] + [t for _, t, _ in QUOTED] + _sentiment_test_texts()
    sim = eval_similarity([e.text for e in rows], eval_texts)
    close = [(e.text, round(float(s), 3)) for e, s in zip(rows, sim) if s >= MAX_EVAL_SIMILARITY]
    assert not close, f"training rows too close to an evaluation text: {close}"


def test_similarity_flags_a_paraphrase():
    """The guard itself: a light edit of an evaluation text is caught."""
    sim = eval_similarity(["Ei mitään valitettavaa!", "Kundservice var bra."], [t for _, t, _ in QUOTED])
    assert sim[0] >= MAX_EVAL_SIMILARITY > sim[1]


def test_each_concept_sits_in_one_part_with_one_label():
    _, parts = _rows()
    where, labels = defaultdict(set), defaultdict(set)
    for part, rows in parts.items():
        for e in rows:
            concept = e.key.split(":")[1][2:]  # 'sv012' -> '012'
            where[concept].add(part)
            labels[concept].add(e.label)
    assert all(len(p) == 1 for p in where.values())
    assert all(len(v) == 1 for v in labels.values())
    assert parts["train"] and parts["dev"]


def test_every_language_and_label_is_in_both_parts():
    _, parts = _rows()
    for rows in parts.values():
        assert {(e.lang, e.label) for e in rows} == {(lang, label) for lang in LANGS for label in LABELS}
