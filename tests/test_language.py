"""Language identification on short survey-style comments."""

from __future__ import annotations

import pytest

from service.language import LanguageIdentifier
from training.data import DATA_DIR


@pytest.fixture(scope="module")
def ident() -> LanguageIdentifier:
    return LanguageIdentifier().fit()


@pytest.mark.parametrize(
    "text,code",
    [
        ("Hyvä palvelu", "fi"),
        ("Kiitos nopeasta toimituksesta", "fi"),
        ("God service, hurtig levering", "da"),
        ("Jeg er meget tilfreds med jeres kundeservice", "da"),
        ("Jättebra kundtjänst, snabb leverans", "sv"),
        ("Jag är mycket nöjd med leveransen", "sv"),
        ("Great customer service and fast delivery", "en"),
        ("The invoice was wrong twice", "en"),
    ],
)
def test_short_comments(ident, text, code):
    assert ident.predict([text]) == [code]


@pytest.mark.parametrize("text", ["👍", "😡😡😡", "12345", "!!!", "??", ""])
def test_nothing_to_detect_is_und(ident, text):
    assert ident.predict([text]) == ["und"]


@pytest.mark.parametrize(
    "text",
    ["Jeg er veldig fornøyd med tjenesten deres, og leveringen gikk raskt.",
     "Ikke fornøyd. Pakken kom aldri og ingen svarte på telefonen."],
)
def test_norwegian_not_forced_into_sv_or_da(ident, text):
    assert ident.predict([text]) == ["no"]


def test_other_languages_not_forced(ident):
    assert ident.predict(["Der Kundenservice war sehr freundlich und hilfsbereit."]) == ["de"]


def test_deterministic(ident):
    texts = ["Bra service", "ok", "Tak for hjælpen", "Kiitos"] * 5
    assert ident.transform(texts) == ident.transform(texts)
    assert LanguageIdentifier().fit().transform(texts) == ident.transform(texts)


def test_hint_wins_on_ambiguous_text_but_not_against_clear_text(ident):
    assert ident.transform(["Bra"], ["sv"])[0].code == "sv"
    clear = ident.transform(["Kiitos oikein paljon nopeasta toimituksesta"], ["en"])[0]
    assert clear.code == "fi" and clear.source == "detected"


def test_quality_floor_on_hand_written_short_answers(ident):
    """Guards the README's published numbers from silently regressing."""
    import csv
    from pathlib import Path

    rows = list(csv.DictReader((Path(__file__).parent / "data" / "langid_short.tsv").open(encoding="utf-8"), delimiter="\t"))
    preds = ident.predict([r["text"] for r in rows])
    configured = [(r, p) for r, p in zip(rows, preds) if r["lang"] in ident.languages]
    others = [(r, p) for r, p in zip(rows, preds) if r["lang"] not in ident.languages]
    assert sum(p == r["lang"] for r, p in configured) / len(configured) >= 0.9
    assert sum(p not in ident.languages for _, p in others) / len(others) >= 0.7


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"training data not present at {DATA_DIR}")
def test_train_langid_on_small_slice_roundtrips(tmp_path):
    from service.langid_model import CharNgramLanguageModel
    from training.train_langid import main as train

    train(["--per-lang", "300", "--output-dir", str(tmp_path)])
    model = CharNgramLanguageModel.load(tmp_path)
    assert sorted(model.classes_) == ["da", "en", "fi", "sv"]
    assert model.predict(["Tack för en snabb leverans", "Kiitos nopeasta toimituksesta"]) == ["sv", "fi"]
    small = LanguageIdentifier(model_dir=tmp_path, backend="charngram").fit()
    assert small.predict(["The delivery was late again"]) == ["en"]


def test_unknown_configured_language_fails_loudly():
    with pytest.raises(ValueError):
        LanguageIdentifier(languages=("sv", "xx"))
