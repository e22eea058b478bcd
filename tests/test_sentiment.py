"""The shipped sentiment model (models/sentiment) as the service uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.config import Settings
from service.sentiment import load_scorer
from service.sentiment.model import TOKENIZER_FILE
from service.sentiment.network import CONFIG_FILE

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "sentiment"

# Unambiguous survey-style comments; neutral is deliberately not asserted per sentence.
CLEAR = {
    "sv": ("Fantastisk service och supertrevlig personal, jag är väldigt nöjd!",
           "Värdelös kundtjänst, ingen svarar och jag har fortfarande inte fått mina pengar tillbaka."),
    "da": ("Super god service og hurtig levering, jeg er meget tilfreds!",
           "Elendig kundeservice, de svarer aldrig og jeg har stadig ikke fået mine penge tilbage."),
    "fi": ("Kiitos, olen todella iloinen ja onnellinen, tämä on ihanaa!",
           "Tämä on kamalaa, olen vihainen ja pettynyt, inhottavaa."),
    "en": ("Excellent service and very friendly staff, I am really happy!",
           "Terrible customer service, nobody answers and I still have not received my refund."),
}


@pytest.fixture(scope="module")
def scorer():
    return load_scorer(MODEL_DIR, Settings(inference_batch_size=8))


@pytest.mark.parametrize("lang", sorted(CLEAR))
def test_clear_positive_and_negative_per_language(scorer, lang):
    pos, neg = CLEAR[lang]
    out_pos, out_neg = scorer.transform([pos, neg], [lang, lang])
    assert out_pos.label == "positive" and out_pos.score > 0.3, out_pos
    assert out_neg.label == "negative" and out_neg.score < -0.3, out_neg


def test_mixed_comment_gets_sentence_level_both_ways(scorer):
    text = "The staff were friendly and helpful. But we waited over an hour and nobody apologised."
    (out,) = scorer.transform([text], ["en"])
    assert len(out.sentences) == 2
    first, second = out.sentences
    assert first.label == "positive" and second.label == "negative"
    assert first.score > 0 > second.score
    for s in out.sentences:
        assert text[s.start : s.end] == s.text


def test_probabilities_and_score_are_consistent(scorer):
    texts = ["Bra.", "Leveransen var sen.", "Ok", "Mikä tahansa", "x" * 3000, "Tak for hjælpen! Men appen crasher."]
    for out in scorer.transform(texts, ["sv", "sv", "und", "fi", "und", "da"]):
        for p, score in [(out.probabilities, out.score)] + [(s.probabilities, s.score) for s in out.sentences]:
            assert set(p) == {"negative", "neutral", "positive"}
            assert abs(sum(p.values()) - 1.0) < 1e-6 and all(0.0 <= v <= 1.0 for v in p.values())
            assert -1.0 <= score <= 1.0
            assert abs(score - (p["positive"] - p["negative"])) < 1e-5
        assert out.model_version == scorer.version


def test_deterministic_and_independent_of_batch_composition(scorer):
    texts = [CLEAR["sv"][0], "Okej leverans, inget speciellt.", CLEAR["en"][1] * 3, "Hej"]
    langs = ["sv", "sv", "en", "sv"]
    a = scorer.transform(texts, langs)
    b = scorer.transform(texts, langs)
    assert [x.model_dump() for x in a] == [x.model_dump() for x in b]
    alone = scorer.transform([texts[1]], [langs[1]])[0]
    assert alone.probabilities == pytest.approx(a[1].probabilities, abs=1e-4)


def test_mismatched_lengths_rejected(scorer):
    with pytest.raises(ValueError):
        scorer.transform(["a", "b"], ["en"])


def test_shipped_artefact_is_compact_and_local():
    assert (MODEL_DIR / CONFIG_FILE).exists() and (MODEL_DIR / TOKENIZER_FILE).exists()
    assert (MODEL_DIR / "model.safetensors").exists() and (MODEL_DIR / "MODEL_CARD.md").exists()
    for f in MODEL_DIR.iterdir():
        assert f.stat().st_size < 25 * 2**20, f
    config = json.loads((MODEL_DIR / CONFIG_FILE).read_text())
    assert config["model_type"] == "bert" and config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    assert json.loads((MODEL_DIR / "calibration.json").read_text())["temperature"] > 0


def test_model_card_is_generated_from_metrics():
    """Every number in the card comes from metrics.json (written by training.eval_sentiment)."""
    from training.sentiment_card import render  # noqa: PLC0415

    metrics = json.loads((MODEL_DIR / "metrics.json").read_text())
    assert (MODEL_DIR / "MODEL_CARD.md").read_text() == render(metrics)
    assert set(metrics["model"]["by_language"]) == {"sv", "da", "fi", "en"}
