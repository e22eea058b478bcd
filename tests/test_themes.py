"""Themes on e5 clause embeddings: stages, cross-language agreement, edits, persistence, report."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from service.config import Settings
from service.segmentation import ClauseSegmenter, SentenceSplitter
from service.themes import ThemeComponents
from service.themes.clustering import AgglomerativeThemes, WardThemes
from service.themes.mapping import Calibration, TaxonomyMapper
from service.themes.model import ThemeModel, flatten
from service.themes.report import build_report, impact, score_metric
from service.themes.taxonomy import Taxonomy, Touchpoint
from training.data import DATA_DIR
from training.themes_data import HOLDOUT, PARALLEL, load_parallel


@pytest.fixture(scope="module")
def comp() -> ThemeComponents:
    return ThemeComponents.load(Settings())


@pytest.fixture(scope="module")
def parallel():
    return load_parallel(PARALLEL)


@pytest.fixture(scope="module")
def encoded(comp, parallel):
    texts, langs, _, _ = parallel
    units = comp.segmenter.transform(texts)
    flat = flatten(units)
    return units, comp.embedder.transform([u.text for u in flat], [langs[u.comment] for u in flat])


@pytest.fixture(scope="module")
def fitted(comp, parallel, encoded):
    texts, langs, _, _ = parallel
    return comp.new_model().fit(texts, langs, *encoded)


def main_themes(model):
    return [r[0].theme if r else -1 for r in model.comment_themes(model.units_, model.unit_hits_, model.n_comments_)]


def test_clauses_split_two_touchpoints_and_keep_noun_pairs():
    seg = ClauseSegmenter()
    a, b = seg.transform(["Leveransen kom en dag för sent och ingen svarade i kundtjänst.", "Bra pris och kvalitet."])
    assert [u.whole for u in a] == [True, False, False]
    assert [u.text for u in a[1:]] == ["Leveransen kom en dag för sent", "och ingen svarade i kundtjänst."]
    assert len(b) == 1 and b[0].whole  # "pris och kvalitet" is not cut
    text = "Toimitus oli nopea ja asiakaspalvelu ystävällinen, mutta sovellus kaatuu."
    assert all(text[u.start:u.end] == u.text for u in seg.transform([text])[0])


def test_sentence_splitting_does_not_grow_spacys_vocabulary():
    """A long-running service sees new words all the time; spaCy would keep each of them (issue #13: memory)."""
    splitter = SentenceSplitter()
    splitter.split(["Warm-up. Once."])
    before = len(splitter.nlp.vocab.strings)
    texts = [f"Ordern zq{i}x kom fram. Tack kvx{i}!" for i in range(500)]
    out = splitter.split(texts)
    assert [s.text for s in out[7]] == ["Ordern zq7x kom fram.", "Tack kvx7!"]
    assert len(splitter.nlp.vocab.strings) == before  # 1,000 unseen words, none kept


@pytest.mark.parametrize("text,want", [
    ("Leveransen kom en dag för sent och ingen svarade i kundtjänst.", {"delivery", "customer_service"}),
    ("Personalen var trevliga men väntetiden i kassan var alldeles för lång.", {"staff", "waiting_time"}),
])
def test_issue_examples_get_both_themes(comp, text, want):
    model = comp.taxonomy_model()
    got = {model.themes_[c.theme].touchpoint for c in model.predict([text], ["sv"])[0]}
    assert want <= got


def test_language_centring_removes_the_language_direction(comp):
    texts, langs, _, groups = load_parallel(HOLDOUT)
    raw = comp.embedder.raw(texts)
    centred = comp.embedder.centering_.transform(raw, langs)
    lang = np.array(langs)

    def same_language_nn(X):
        Y = X / np.linalg.norm(X, axis=1, keepdims=True)
        S = Y @ Y.T
        np.fill_diagonal(S, -9)
        return float((lang[S.argmax(1)] == lang).mean())

    assert same_language_nn(centred) < same_language_nn(raw)


def test_translations_share_the_main_theme(fitted, parallel):
    _, langs, _, groups = parallel
    main = main_themes(fitted)
    by: dict[str, set] = {}
    for m, g in zip(main, groups):
        by.setdefault(g, set()).add(m)
    agree = sum(1 for v in by.values() if len(v) == 1 and -1 not in v) / len(by)
    assert agree >= 0.85, agree


def test_evaluation_scores_where_the_gold_touchpoint_lands(fitted, parallel):
    from training.eval_themes import first_clause_labels, main_labels, touchpoint_hits

    texts, _, gold, _ = parallel
    hits = touchpoint_hits(fitted, gold)
    assert 0.7 <= hits["main_is_gold"] < hits["gold_among_themes"] <= 1.0 and hits["mean_themes"] > 1
    assert touchpoint_hits(fitted, ["no_such_touchpoint"] * len(gold))["gold_among_themes"] == 0.0
    main, first = main_labels(fitted), first_clause_labels(fitted)
    multi = {u.comment for u in fitted.units_ if not u.whole}
    assert all(a == b for k, (a, b) in enumerate(zip(main, first)) if k not in multi)  # one clause: the same rule
    assert any(a != b for k, (a, b) in enumerate(zip(main, first)) if k in multi)


def test_fit_is_deterministic(comp, parallel, encoded, fitted):
    texts, langs, _, _ = parallel
    again = comp.new_model().fit(texts, langs, *encoded)
    assert main_themes(again) == main_themes(fitted)
    assert [t.label for t in again.themes_] == [t.label for t in fitted.themes_]


def test_comments_outside_the_taxonomy_form_a_discovered_theme(comp):
    pets = ["The dog food arrived with the wrong flavour for my puppy.", "My cat refuses this new kibble brand.",
            "Hundfodret gjorde min valp sjuk.", "Kissani ei syö tätä uutta kissanruokaa.",
            "Min hund elsker det nye hundefoder.", "The puppy treats were a hit with our dog.",
            "Kattmaten luktade konstigt och katten vägrade äta.", "Koiranruoka sopi koirallemme hyvin."] * 2
    texts = pets + ["The parcel arrived two days late."] * 4
    langs = ["en", "en", "sv", "fi", "da", "en", "sv", "fi"] * 2 + ["en"] * 4
    model = comp.new_model(min_theme_size=4).fit(texts, langs)
    found = [t for t in model.themes_ if t.discovered and t.parent is None]
    main = main_themes(model)
    assert found, [t.label for t in model.themes_ if t.parent is None]
    in_found = sum(1 for m in main[:16] if m >= 0 and model.themes_[m].discovered)  # -1 = unassigned
    assert in_found >= 12 and found[0].keywords, (in_found, found[0].keywords)


def test_sub_themes_sit_under_their_theme(fitted):
    subs = [t for t in fitted.themes_ if t.parent is not None]
    assert subs and all(fitted.themes_[s.parent].parent is None for s in subs)
    assert all(s.theme_id.startswith(fitted.themes_[s.parent].theme_id + ".") for s in subs)


def test_ward_cut_follows_cohesion_and_fixed_k():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    X = np.concatenate([c + 0.15 * rng.normal(size=(40, 32)) for c in centres])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    auto = WardThemes(0.7, min_size=5).fit(X)  # two clusters together reach ~0.5 here
    assert len(auto.centroids_) == 3
    assert len(WardThemes(n_clusters=5, min_size=1).fit(X).centroids_) == 5
    sample = WardThemes(0.7, min_size=5, max_fit=60).fit(X)  # fitted on a sample, the rest assigned
    assert len(sample.centroids_) == 3 and (sample.labels_ >= 0).mean() > 0.8
    groups = AgglomerativeThemes(0.05, min_size=1).fit(np.repeat(X[[0, 40, 80]], 2, axis=0)).labels_
    assert len(set(groups.tolist())) == 3


def test_edits_survive_persistence_and_steer_assignment(comp, fitted, parallel):
    texts, langs, _, _ = parallel
    meta, arrays = fitted.to_state()
    model = comp.new_model().load_state(meta, arrays)
    model.rename("delivery", "Shipping & couriers")
    merged = model.merge(["customer-service", "phone-chat-support"], label="Contact & support")
    split = model.split("price", 2)
    meta2, arrays2 = model.to_state()
    again = comp.new_model().load_state(meta2, arrays2)
    rows = again.predict(["Paketet kom aldrig fram.", "Ingen svarade i telefon på två timmar.", "Alldeles för dyrt."],
                         ["sv", "sv", "sv"])
    first = [again.themes_[r[0].theme] for r in rows]
    assert first[0].label == "Shipping & couriers" and first[1].theme_id == merged.theme_id
    assert all(again.themes_[c.theme].theme_id != "phone-chat-support" for r in rows for c in r)
    assert {t.theme_id for t in split} <= {t.theme_id for t in again.themes_}
    assert rows[2][0].sub is not None and again.themes_[rows[2][0].sub].theme_id in {t.theme_id for t in split}
    with pytest.raises(KeyError):
        again.rename("no-such-theme", "x")
    with pytest.raises(ValueError):
        again.merge(["delivery", "delivery"])


def test_stored_model_without_stages_reads_the_themes_but_cannot_fit(fitted):
    """What the Ray driver's report reads: the fitted themes, no encoder, no taxonomy."""
    meta, arrays = fitted.to_state()
    bare = ThemeModel.stored(meta, arrays)
    assert bare.embedder is None and bare.mapper is None
    assert [(t.theme_id, t.label, t.touchpoint) for t in bare.themes_] == \
        [(t.theme_id, t.label, t.touchpoint) for t in fitted.themes_]
    assert bare.n_comments_ == fitted.n_comments_
    np.testing.assert_allclose(np.stack([t.centroid for t in bare.themes_]), np.stack([t.centroid for t in fitted.themes_]))
    with pytest.raises(ValueError, match="clustering stage"):
        bare.fit(["Paketet kom aldrig fram."], ["sv"])


def test_saved_model_refuses_a_taxonomy_without_its_touchpoints(comp, fitted, tmp_path: Path):
    """Touchpoint themes are found by key: a taxonomy lacking one of the model's touchpoints is refused,
    one that only gained touchpoints (people's additions, appended) still fits the model."""
    meta, arrays = fitted.to_state()
    text = (Settings().themes_path / "taxonomy.yaml").read_text(encoding="utf-8")
    (tmp_path / "taxonomy.yaml").write_text(text.replace("  overall:\n", "  zz_renamed_overall:\n"), encoding="utf-8")
    (tmp_path / "lexicon.yaml").write_text((Settings().themes_path / "lexicon.yaml").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    other = Taxonomy.load(tmp_path / "taxonomy.yaml")
    mapper = type(comp.mapper)(other).fit(comp.embedder.transform)
    with pytest.raises(ValueError, match="another taxonomy"):
        comp.new_model(mapper=mapper).load_state(meta, arrays)

    extra = Touchpoint("zz_parking", "Parking", {}, "Parking the car at the store.", (),
                       {"en": ("There was nowhere to park the car.", "The car park was full again.")})
    wider = comp.with_additions([extra])
    assert wider.taxonomy.keys == [*comp.taxonomy.keys, "zz_parking"] and wider.base is (comp.base or comp)
    again = wider.new_model().load_state(meta, arrays)
    assert again.touchpoint_themes() == fitted.touchpoint_themes()  # the new touchpoint has no theme here
    theme = again.add_touchpoint("zz_parking", "Parking")
    rows = again.predict(["The car park was full again, nowhere to park the car."], ["en"])
    assert again.themes_[rows[0][0].theme] is theme


def test_report_aspect_sentiment_impact_and_trend(comp):
    texts = ["Friendly staff but the queue at the checkout was far too long."] * 6 + ["The staff were lovely."] * 6
    langs = ["en"] * 12
    model = comp.new_model().fit(texts, langs)
    flat = model.units_
    unit_sents = [{"label": "negative", "score": -0.8} if ("queue" in u.text and not u.whole) else
                  {"label": "positive", "score": 0.9} for u in flat]
    t0 = datetime(2026, 1, 1)
    report = build_report(model, texts, langs, [{"label": "neutral", "score": 0.0}] * 12, unit_sents,
                          scores=[3] * 6 + [10] * 6, timestamps=[t0 + timedelta(days=40 * i) for i in range(12)])
    by = {t.touchpoint: t for t in report.themes if t.level == 1}
    assert by["waiting_time"].sentiment.counts["negative"] == 6  # the clause, not the whole comment
    assert by["staff"].sentiment.counts["positive"] >= 6
    imp = by["waiting_time"].impact
    assert report.score_metric == "nps" and imp is not None and imp.difference < 0 and imp.ci_high < 0
    assert by["waiting_time"].trend and sum(p.n_theme for p in by["waiting_time"].trend) == 6
    assert report.sentiment_level == "clause" and report.n_unassigned == 0


def test_score_metric_and_impact_interval():
    assert score_metric([0, 7, 10]) == "nps" and score_metric([1, 2, 5]) == "mean" and score_metric([None]) is None
    scores = np.array([10.0] * 50 + [2.0] * 50)
    imp = impact(np.arange(50), scores, "nps")
    assert imp.with_theme == 100 and imp.without_theme == -100 and imp.ci_low <= imp.difference <= imp.ci_high
    assert impact(np.arange(1), scores, "nps") is None  # one side too small for an interval


def test_bad_input_raises_value_error(comp):
    with pytest.raises(ValueError):
        comp.new_model().fit([], [])
    with pytest.raises(ValueError):
        comp.new_model().fit(["a"], ["sv", "da"])
    with pytest.raises(ValueError):
        comp.new_model().fit(["Bra."], ["sv"], vectors=np.zeros((3, 384), np.float32))


@pytest.mark.skipif(not (DATA_DIR / "trustpilot_sv_2025").exists(), reason="shared data (../shared/data) not present")
def test_real_reviews_are_mostly_assigned(comp):
    from training.themes_data import load_mixed_dump  # noqa: PLC0415

    texts, langs, _ = load_mixed_dump(per_language=150)
    model = comp.new_model().fit(texts, langs)
    main = main_themes(model)
    assert sum(m < 0 for m in main) / len(main) < 0.1
    assert len({m for m in main if m >= 0}) >= 5


def test_a_loose_cluster_joins_a_touchpoint_only_when_its_members_lean_to_it(comp):
    """A cluster's centroid is nearer a touchpoint than any member (re-normalised mean of unit vectors): the loose
    cluster (members at cosine 0.2, centroid ~0.6) stays discovered, the one whose members reach ~0.35 joins."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(128, 128)))[0].T  # orthonormal rows
    n_tp = len(comp.taxonomy.touchpoints)
    protos, noise = basis[:n_tp], basis[n_tp:]
    mapper = TaxonomyMapper(comp.taxonomy, Calibration(threshold=0.4), prior_bonus=0.0)
    mapper.calibration_, mapper.prototypes_ = mapper.calibration, protos.astype(np.float32)
    mapper.example_vectors_, mapper.example_owner_ = protos.astype(np.float32), np.arange(n_tp)

    def cluster(tp: int, cos: float, first: int, n: int = 20) -> np.ndarray:
        shared, own = noise[first], noise[first + 1:first + 1 + n]
        return cos * protos[tp] + 0.15 * shared + np.sqrt(1 - cos**2 - 0.15**2) * own

    X = np.concatenate([cluster(0, 0.2, 0), cluster(1, 0.35, 30)]).astype(np.float32)
    texts = [f"comment number {i}" for i in range(len(X))]
    model = comp.new_model(embedder=None, mapper=mapper, grouping=None, subclustering=None, min_theme_size=3,
                           min_theme_share=0.0, clustering=WardThemes(n_clusters=2, min_size=3))
    main = main_themes(model.fit(texts, ["en"] * len(X), vectors=X))
    assert float(X[:20].mean(axis=0) @ protos[0] / np.linalg.norm(X[:20].mean(axis=0))) > 0.4  # the centroid maps
    assert all(model.themes_[m].discovered for m in main[:20]), [model.themes_[m].label for m in main[:20]]
    assert all(model.themes_[m].touchpoint == comp.taxonomy.keys[1] for m in main[20:])
