"""Comment- and sentence-level sentiment for the pipeline's sentiment stage.

The comment label comes from the model applied to the whole comment (what it was trained on);
each sentence is scored as well, so mixed comments ("friendly staff, but I waited an hour") expose
both sides. All comments of a request go through the encoder in one length-sorted, batched pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
import numpy as np

from service.config import UnitMode
from service.encoder.spans import WHOLE
from service.schemas import SentenceSentiment, SentimentOut
from service.sentiment.model import LABELS, SentimentModel
from service.segmentation import SentenceSplitter, Span, Unit
from service.sentiment.shared_pass import SharedPass

_DECIMALS = 6  # rounding makes outputs byte-identical across batch compositions


def model_version(path: Path) -> str:
    """'sentiment-e5-<first 12 hex of the weights' sha256>': changes whenever the weights do."""
    digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()[:12]
    return f"sentiment-e5-{digest}"


def _probabilities(row: np.ndarray) -> dict[str, float]:
    p = np.round(row, _DECIMALS)
    p[int(np.argmax(p))] += 1.0 - float(p.sum())  # keep the rounded values summing to 1
    return {label: float(max(0.0, v)) for label, v in zip(LABELS, p)}


def _score(probabilities: dict[str, float]) -> float:
    return float(min(1.0, max(-1.0, round(probabilities["positive"] - probabilities["negative"], _DECIMALS))))


def _label(probabilities: dict[str, float]) -> str:
    return max(LABELS, key=lambda label: probabilities[label])


class SentimentScorer:
    """``fit`` is loading; ``transform(texts, languages)`` -> one ``SentimentOut`` per text.

    With a ``SharedPass``, ``transform_with_units`` also scores theme units (clauses) and returns their
    theme vectors from the same encoder pass. Sentences (and clauses, for their sentiment) are always
    encoded as their own strings: pooled from the comment's pass they take on its sentiment
    (``training/eval_span_pooling.py`` measured it). ``units`` decides the clauses' theme vectors:
    ``"spans"`` pools them from the comment's own pass, ``"separate"`` encodes each clause alone.
    """

    def __init__(self, model: SentimentModel, version: str, batch_size: int = 64, max_sentences: int = 50,
                 shared: SharedPass | None = None, units: UnitMode = "separate") -> None:
        self.model = model
        self.version = version
        self.batch_size = batch_size
        self.max_sentences = max_sentences
        self.shared = shared
        self.units = units
        self.splitter = SentenceSplitter()

    @property
    def engine(self) -> str:
        """The encoder engine that scores (``Settings.inference_engine`` resolved)."""
        return self.shared.engine.name if self.shared is not None else "torch"

    def transform(self, texts: Sequence[str], languages: Sequence[str]) -> list[SentimentOut]:
        """``languages`` is accepted for the stage protocol; the encoder is multilingual and
        scores 'und' or other-language comments too (reported as such by the language stage)."""
        return self.transform_with_units(texts, languages, None)[0]

    def transform_with_units(
        self, texts: Sequence[str], languages: Sequence[str], units: Sequence[Sequence[Unit]] | None,
        unit_sentiment: bool = True, sentences: Sequence[Sequence[Span]] | None = None,
    ) -> tuple[list[SentimentOut], list[SentenceSentiment] | None, np.ndarray | None]:
        """(comment sentiment, per flattened unit its sentiment, per flattened unit its raw theme vector).

        ``unit_sentiment=False`` (real-time analysis, which reports no per-theme sentiment) skips the
        sentiment of clauses that are neither a comment nor a sentence: they only need vectors.
        ``sentences``: the texts' sentence spans when the caller already split them (the pipeline does,
        for the theme units too), so spaCy runs once per request.
        """
        if len(texts) != len(languages):
            raise ValueError("texts and languages must have the same length")
        if units is not None and self.shared is None:
            raise ValueError("theme units need a SharedPass")
        spans = [s[: self.max_sentences] for s in (sentences if sentences is not None else self.splitter.split(texts))]
        flat = [u for us in units for u in us] if units is not None else []
        pooled = self.shared is not None and self.units == "spans"
        unique: dict[str, int] = {}
        for text, sents in zip(texts, spans):
            unique.setdefault(text, len(unique))
            for s in sents:
                unique.setdefault(s.text, len(unique))
        n_scored = len(unique)
        for u in flat:
            if unit_sentiment or not pooled:
                unique.setdefault(u.text, len(unique))
        strings = list(unique)
        vectors = None
        if self.shared is not None:
            vector_req: list[list[tuple[int, int]] | None] = [None] * len(strings)
            if pooled:  # each comment's units pooled from the comment's own pass
                for i, text in enumerate(texts):
                    if units is not None and units[i]:
                        vector_req[unique[text]] = [WHOLE if u.whole else (u.start, u.end) for u in units[i]]
            else:
                for u in flat:
                    vector_req[unique[u.text]] = [WHOLE]
            proba_req = [[WHOLE] if unit_sentiment or k < n_scored else None for k in range(len(strings))]
            p_rows, v_rows = self.shared.run(strings, proba_req, vector_req)
            proba = np.vstack([p if p is not None else np.full((1, len(LABELS)), np.nan) for p in p_rows])
            if flat and pooled:
                vectors = np.vstack([v_rows[unique[texts[i]]] for i in range(len(texts)) if units[i]])  # type: ignore[index,misc]
            elif flat:
                vectors = np.vstack([v_rows[unique[u.text]] for u in flat])  # type: ignore[misc]
        else:
            proba = self.model.predict_proba(strings, self.batch_size)

        out: list[SentimentOut] = []
        for text, sents in zip(texts, spans):
            p = _probabilities(proba[unique[text]])
            sentences = [_sentence(s.text, s.start, s.end, proba[unique[s.text]]) for s in sents]
            out.append(SentimentOut(
                label=_label(p), score=_score(p), probabilities=p, sentences=sentences, model_version=self.version
            ))
        unit_out = [_sentence(u.text, u.start, u.end, proba[unique[u.text]]) for u in flat] if unit_sentiment else None
        return out, unit_out, (vectors.astype(np.float32) if vectors is not None else None)


def _sentence(text: str, start: int, end: int, row: np.ndarray) -> SentenceSentiment:
    p = _probabilities(row)
    return SentenceSentiment(text=text, start=start, end=end, label=_label(p), score=_score(p), probabilities=p)
