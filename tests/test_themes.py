"""Theme library: multilingual lexicon, clustering, taxonomy mapping, assignment, report."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from service.config import Settings
from service.schemas import SentimentOut
from service.themes import ThemeModel, cluster_comments, fit_themes, load_assigner, load_taxonomy
from service.themes.taxonomy import Taxonomy
from training.data import DATA_DIR
from training.eval_themes import cross_language, load_parallel

SETTINGS = Settings()


@pytest.fixture(scope="module")
def parallel() -> tuple[list[str], list[str], list[str], list[str]]:
    return load_parallel()


@pytest.fixture(scope="module")
def fitted(parallel):
    texts, langs, _, _ = parallel
    return fit_themes(texts, langs, None, settings=SETTINGS)


def _sent(label: str, score: float) -> SentimentOut:
    probs = {"negative": 0.0, "neutral": 0.0, "positive": 0.0, label: 1.0}
    return SentimentOut(label=label, score=score, probabilities=probs, model_version="test")


@pytest.mark.parametrize("text,lang,concepts", [
    ("Leveranstiden var lång", "sv", {"delivery"}),
    ("Kundtjänsten svarade snabbt", "sv", {"customer_service", "response", "speed"}),
    ("Leveringstiden var for lang", "da", {"delivery"}),
    ("Pakkeshoppen havde lukket", "da", {"delivery"}),
    ("Toimituksen kanssa oli ongelmia", "fi", {"delivery"}),
    ("Asiakaspalvelussa oli pitkä jono", "fi", {"customer_service", "waiting"}),
    ("Nobody answered the phone", "en", {"response", "phone"}),
    ("Snabbleverans till bra pris", "sv", {"speed", "delivery", "overall", "price"}),
])
def test_lexicon_matches_inflections_and_compounds(text, lang, concepts):
    lex = load_taxonomy(SETTINGS.themes_path).lexicon
    assert {m.concept for m in lex.match(text, lang)} == concepts


def test_language_specific_false_friends_are_not_matched():
    lex = load_taxonomy(SETTINGS.themes_path).lexicon
    # Swedish 'sent' = late, English 'sent' = past tense of send: only the Swedish reading is 'waiting'.
    assert "waiting" in {m.concept for m in lex.match("Paketet kom sent", "sv")}
    assert "waiting" not in {m.concept for m in lex.match("I sent it on Monday", "en")}


def test_parallel_comments_share_a_theme_across_languages(parallel, fitted):
    _, langs, gold, groups = parallel
    model, report = fitted
    pred = [a[0].theme if a else -1 for a in model.assignments_]
    agreement = cross_language(pred, groups, langs)
    assert agreement["groups_all_same"] >= 0.8, agreement  # measured 0.96; char n-grams alone: 0.00
    by_group = defaultdict(set)
    for p, g in zip(pred, groups):
        by_group[g].add(p)
    delivery = model.themes[next(iter(by_group["p01"]))]
    assert len(by_group["p01"]) == 1 and delivery.touchpoint == "delivery"
    themes = {t.theme_id: t for t in report.themes}
    assert set(themes[delivery.theme_id].keywords) == {"sv", "da", "fi", "en"}


def test_report_is_consistent_and_reports_unassigned(parallel, fitted):
    texts, _, _, _ = parallel
    _, report = fitted
    assert report.n_comments == len(texts) == len(report.assignments)
    assert report.n_unassigned == sum(1 for a in report.assignments if not a)
    assert report.n_unassigned / report.n_comments <= 0.05
    assert sum(t.size for t in report.themes) == report.n_assigned
    assert abs(sum(t.share for t in report.themes) - report.n_assigned / report.n_comments) < 0.01
    for t in report.themes:
        assert t.label and t.representative and t.sentiment.n_scored == 0 and t.sentiment.mean_score is None
    json.dumps(report.model_dump(mode="json"))  # JSON-serialisable for the batch jobs


def test_same_input_gives_same_report(parallel, fitted):
    texts, langs, _, _ = parallel
    again = cluster_comments(texts, langs, None, settings=SETTINGS)
    assert again.model_dump() == fitted[1].model_dump()
    small = cluster_comments(texts, langs, None, settings=SETTINGS, include_assignments=False)
    assert small.assignments == [] and small.themes == fitted[1].themes


def test_same_report_in_another_process_with_another_hash_seed(parallel, fitted, tmp_path):
    """No set/dict iteration order leaks into the result (PYTHONHASHSEED changes it between processes)."""
    import os
    import subprocess
    import sys

    out = tmp_path / "report.json"
    code = ("import json,sys; from training.eval_themes import load_parallel; from service.themes import cluster_comments; "
            "t,l,_,_=load_parallel(); open(sys.argv[1],'w').write(json.dumps(cluster_comments(t,l).model_dump(mode='json')))")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, timeout=120,
                   env={**os.environ, "PYTHONHASHSEED": "12345"}, cwd=Path(__file__).resolve().parent.parent)
    assert json.loads(out.read_text()) == json.loads(json.dumps(fitted[1].model_dump(mode="json")))


def test_n_themes_override_asks_for_fewer_or_more(parallel, fitted):
    texts, langs, _, _ = parallel
    auto = fitted[1].n_themes
    fewer = cluster_comments(texts, langs, None, n_themes=5, settings=SETTINGS)
    more = cluster_comments(texts, langs, None, n_themes=auto + 4, settings=SETTINGS)
    assert fewer.n_themes == 5 and fewer.n_themes_requested == 5 and fewer.n_themes_auto == auto
    assert more.n_themes == auto + 4
    with pytest.raises(ValueError):
        cluster_comments(texts, langs, None, n_themes=0, settings=SETTINGS)


def test_themes_outside_the_taxonomy_are_discovered(fitted):
    _, report = fitted
    food = [t for t in report.themes if "food_drink" in t.concepts[:1]]
    assert food and food[0].discovered and food[0].touchpoint is None and food[0].label == "Food & drink"


def test_vocabulary_outside_the_lexicon_forms_a_discovered_theme(parallel):
    """Comments the lexicon cannot read (a loyalty club) are clustered on their own words."""
    texts, langs, _, _ = parallel
    loyalty = ["My bonus points disappeared from the loyalty club", "Bonus points from the loyalty club vanished again",
               "Where did my loyalty club bonus points go?", "Loyalty club bonus points expire far too soon",
               "I lost all my bonus points in the loyalty club", "Loyalty club bonus points are impossible to use",
               "Bonus points in the loyalty club never show up", "Loyalty club bonus points are a joke",
               "Why are my loyalty club bonus points gone?"]
    model, report = fit_themes(texts + loyalty, langs + ["en"] * len(loyalty), None, settings=SETTINGS)
    found = [t for t in report.themes if t.label.startswith("Discovered:")]
    assert len(found) == 1 and found[0].touchpoint is None and found[0].discovered
    assert {"bonus", "loyalty"} & set(found[0].keywords["en"]) and found[0].size >= 5
    members = {r.index for r in found[0].representative}
    assert members <= set(range(len(texts), len(texts) + len(loyalty)))
    hit = model.predict(["Still no bonus points from the loyalty club"], ["en"])[0]
    assert hit and model.themes[hit[0].theme].theme_id == found[0].theme_id


def test_new_comment_is_assigned_without_reclustering(fitted):
    model, _ = fitted
    before = [(t.theme_id, t.centroid.copy()) for t in model.themes]
    new = ["Paketet kom aldrig fram", "Laskussa oli väärä summa", "Rabatkoden virkede ikke", "qwzx vbnm"]
    got = model.predict(new, ["sv", "fi", "da", "und"])
    assert [t.theme_id for t in model.themes] == [b[0] for b in before]
    assert all((t.centroid == c).all() for t, (_, c) in zip(model.themes, before))
    assert model.themes[got[0][0].theme].touchpoint == "delivery"
    assert model.themes[got[1][0].theme].touchpoint == "billing_invoice"
    assert model.themes[got[2][0].theme].touchpoint == "price"
    assert got[3] == []  # nothing to go on: unassigned, not forced into a theme


def test_sentiment_distribution_and_mean(parallel):
    texts, langs, gold, _ = parallel
    idx = [i for i, g in enumerate(gold) if g == "delivery"]
    sents = [_sent("negative", -0.8), _sent("positive", 0.6), None, "neutral"] * (len(idx) // 4)
    report = cluster_comments([texts[i] for i in idx], [langs[i] for i in idx], sents, settings=SETTINGS)
    total = {k: sum(t.sentiment.counts[k] for t in report.themes) for k in ("negative", "neutral", "positive")}
    q = len(idx) // 4
    assert total == {"negative": q, "neutral": q, "positive": q}
    scored = [t for t in report.themes if t.sentiment.mean_score is not None]
    assert scored and all(-0.8 <= t.sentiment.mean_score <= 0.6 for t in scored)


def test_bad_library_input_raises_value_error():
    with pytest.raises(ValueError):
        cluster_comments(["a", "b"], ["sv"], None, settings=SETTINGS)
    with pytest.raises(ValueError):
        cluster_comments([], [], None, settings=SETTINGS)


def test_taxonomy_rejects_a_concept_claimed_twice(tmp_path: Path):
    src = SETTINGS.themes_path
    (tmp_path / "lexicon.yaml").write_text((src / "lexicon.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "taxonomy.yaml").write_text(
        "version: t\ntouchpoints:\n  a: {label: A, concepts: [delivery]}\n  b: {label: B, concepts: [delivery]}\n",
        encoding="utf-8")
    with pytest.raises(ValueError, match="claimed"):
        Taxonomy.load(tmp_path / "taxonomy.yaml")


def test_pipeline_assigner_returns_touchpoints():
    assigner = load_assigner(SETTINGS.themes_path, SETTINGS)
    out = assigner.transform(["Fakturan var fel", "Hyvä palvelu ja nopea toimitus"], ["sv", "fi"], [None, None])
    assert out[0][0].touchpoint == "billing_invoice"
    assert {t.touchpoint for t in out[1]} >= {"delivery", "customer_service"}
    assert assigner.version == ThemeModel.from_taxonomy(load_taxonomy(SETTINGS.themes_path)).version


@pytest.mark.skipif(not (DATA_DIR / "trustpilot_sv_2025").exists(), reason="shared data not present")
def test_real_swedish_and_danish_reviews_share_themes():
    """Real Trustpilot reviews (not committed: no redistribution licence) in two languages."""
    from training.data import read_tsv

    sv = [r["text"] for r in read_tsv("trustpilot_sv_2025/trustpilot_sv_2025.tsv") if r["lang_heuristic"] == "sv"][:300]
    da = [r["text"] for r in read_tsv("trustpilot_da_sentida/trustpilot_da_sentida.tsv")][:300]
    report = cluster_comments(sv + da, ["sv"] * len(sv) + ["da"] * len(da), None, settings=SETTINGS)
    assert report.unassigned_share < 0.15
    mixed = [t for t in report.themes if min(sum(1 for r in t.keywords.get(l, [])) for l in ("sv", "da")) > 0]
    assert len(mixed) >= 0.7 * report.n_themes
