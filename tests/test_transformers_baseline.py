"""The benchmark's transformers-pipeline baseline runs our fine-tuned network, not a look-alike (issue #11)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_throughput import survey_comments
from benchmarks.transformers_baseline import text_classification, token_parity
from service.config import Settings
from service.encoder import read_e5_file
from service.sentiment.model import SentimentModel
from service.sentiment.network import LABELS

TEXTS = ["Toimitus oli nopea, kiitos!", "Priserna är för höga jämfört med konkurrenterna.",
         "Pakken kom aldrig frem, og ingen svarede.", "The staff were lovely.", "Ei mitään valitettavaa.",
         "Jag ringde kundtjänst i tisdags om min faktura."]


@pytest.fixture(scope="module")
def shipped():
    file = read_e5_file()
    return SentimentModel.load(Settings().sentiment_path, file), file


def test_pipeline_gives_the_networks_own_probabilities(shipped):
    model, file = shipped
    out = text_classification(model, file, batch_size=4)(TEXTS, top_k=None)
    got = np.array([[next(d["score"] for d in row if d["label"] == label) for label in LABELS] for row in out])
    logits = model.logits(TEXTS)
    want = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(got, want / want.sum(1, keepdims=True), atol=1e-4)  # softmax, no temperature


def test_fast_tokenizer_matches_the_service_tokenizer_on_survey_answers(shipped):
    model, file = shipped
    assert token_parity(model, file, survey_comments(276)) == 1.0
    assert token_parity(model, file, ["word " * 300]) == 0.0  # the pipeline truncates head-only, the service head+tail
