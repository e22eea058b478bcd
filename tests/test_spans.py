"""Span pooling (issue #11): sentence and clause rows pooled from the comment's own encoder pass."""

from __future__ import annotations

import numpy as np
import pytest

from service.config import Settings
from service.encoder import E5Tokenizer, read_e5_file
from service.encoder.spans import WHOLE, pool, span_pass, token_range
from service.sentiment import load_scorer
from service.segmentation import ClauseSegmenter
from tests.test_encoder import TEXTS as TOKENIZER_TEXTS

TWO_SENTENCES = "Toimitus oli nopea ja kuljettaja ystävällinen. Asiakaspalvelu ei vastannut viesteihin."


@pytest.fixture(scope="module")
def tokenizer():
    return E5Tokenizer(read_e5_file())


def test_anchored_ids_are_the_plain_ids(tokenizer):
    texts = [*TOKENIZER_TEXTS, " ".join(["word"] * 400)]
    for text, (ids, anchors) in zip(texts, tokenizer.encode_with_anchors(texts, 128)):
        assert ids == tokenizer.encode([text], 128)[0]
        assert len(anchors) == len(ids) and anchors[0] == anchors[-1] == -1
        real = [a for a in anchors if a >= 0]
        assert real == sorted(real) and all(a < len(text) for a in real)


def test_a_sentence_span_holds_the_tokens_of_that_sentence(tokenizer):
    start = TWO_SENTENCES.index("Asiakaspalvelu")
    ids, anchors = tokenizer.encode_with_anchors([TWO_SENTENCES], 128)[0]
    first, last = token_range(anchors, (start, len(TWO_SENTENCES)))
    n_prefix = len(tokenizer.content_ids([""])[0]) - 1  # "query:" pieces (the empty text adds a lone metaspace)
    assert ids[first:last] == tokenizer.content_ids([TWO_SENTENCES[start:]])[0][n_prefix:]
    head = token_range(anchors, (0, start - 1))
    assert head == (1 + n_prefix, first) and ids[head[0]:head[1]] == tokenizer.content_ids(
        [TWO_SENTENCES[: start - 1]])[0][n_prefix:]
    assert token_range(anchors, (len(TWO_SENTENCES), len(TWO_SENTENCES) + 5)) is None


def test_pool_is_the_mean_of_the_range():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(7, 4)).astype(np.float32)
    out = pool(states, 6, [None, (1, 3), (5, 6)])
    np.testing.assert_allclose(out[0], states[:6].mean(0), rtol=1e-6)
    np.testing.assert_allclose(out[1], states[1:3].mean(0), rtol=1e-6)
    np.testing.assert_allclose(out[2], states[5], rtol=1e-6)


def test_a_span_truncated_away_is_encoded_on_its_own(tokenizer):
    """Head+tail truncation drops the middle of a long comment; its spans still get a row."""
    middle = "Kassakön var alldeles för lång."
    text = " ".join(["Bra."] * 60 + [middle] + ["Bra."] * 120)
    start = text.index(middle)

    def states(ids, mask, rows):  # token states = the token ids, so a row's mean tells which tokens it pooled
        return {h: np.repeat(ids[ks, :, None].astype(np.float32), 2, axis=2) for h, ks in rows.items()}

    out = span_pass([text], {"v": [[WHOLE, (start, start + len(middle))]]}, tokenizer, 128, states, 8)["v"][0]
    alone = tokenizer.encode([middle], 128)[0]
    assert out[1][0] == pytest.approx(np.mean(alone))
    assert out[0][0] == pytest.approx(np.mean(tokenizer.encode([text], 128)[0]))


@pytest.fixture(scope="module")
def scorers():
    return {mode: load_scorer(Settings().sentiment_path, Settings(inference_batch_size=8, inference_units=mode),
                              shared_pass=True) for mode in ("spans", "separate")}


def test_spans_and_separate_agree_on_comments_and_one_sentence_answers(scorers):
    texts = ["Toimitus oli nopea, kiitos!", TWO_SENTENCES, "Leveransen kom en dag för sent och ingen svarade i kundtjänst."]
    seg = ClauseSegmenter()
    units = seg.transform(texts)
    got = {m: s.transform_with_units(texts, ["fi", "fi", "sv"], units) for m, s in scorers.items()}
    (a, ua, va), (b, ub, vb) = got["spans"], got["separate"]
    for x, y in zip(a, b):  # the comment itself is one pass either way
        assert x.probabilities == pytest.approx(y.probabilities, abs=1e-4)
    assert a[0].sentences[0].probabilities == a[0].probabilities  # a one-sentence comment's sentence is the comment
    assert [s.text for s in a[1].sentences] == [s.text for s in b[1].sentences]
    assert a[1].sentences[1].label == b[1].sentences[1].label == "negative"
    assert len(ua) == len(ub) == len(va) == len(vb) == sum(len(u) for u in units)
    cos = (va * vb).sum(1) / np.linalg.norm(va, axis=1) / np.linalg.norm(vb, axis=1)
    assert cos[[k for k, u in enumerate(u for us in units for u in us) if u.whole]].min() > 0.9999
    assert cos.min() > 0.8  # clauses: pooled in context, close to the clause encoded alone


def test_duplicate_comments_are_scored_once_and_identically(scorers, monkeypatch):
    shared = scorers["spans"].shared
    sent: list[str] = []
    real_run = shared.run

    def run(texts, proba_spans, vector_spans):
        sent.extend(texts)
        return real_run(texts, proba_spans, vector_spans)

    monkeypatch.setattr(shared, "run", run)
    texts = ["Bra", TWO_SENTENCES, "Bra"]
    out = scorers["spans"].transform(texts, ["sv", "fi", "sv"])
    assert out[0].model_dump() == out[2].model_dump()
    assert sent.count("Bra") == 1 and sent.count(TWO_SENTENCES) == 1
