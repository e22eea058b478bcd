"""Touchpoint themes on multilingual e5 clause embeddings: the wiring of the stages in ``model.py``.

Public API (the pipeline, the batch jobs and the HTTP routes import these):

- ``ThemeComponents.load(settings)``: the shipped taxonomy, embedder and mapper, loaded once
- ``components.new_model()``: an unfitted ``ThemeModel`` with the configured stages
- ``components.taxonomy_model()``: a model that knows only the taxonomy (real-time assignment)
- ``components.with_additions(touchpoints)``: the same with touchpoints a tenant's people added (stored in the
  database); the caller picks the tenant's (``service.api.tenant_taxonomy``)
- ``ThemeAssigner``: the pipeline stage behind ``/v1/comments/analyze``
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from service.config import Settings
from service.encoder import E5File
from service.schemas import SentimentOut, ThemeOut
from service.themes.clustering import AgglomerativeThemes, WardThemes
from service.themes.embedding import LANGUAGE_MEANS_FILE, ThemeEmbedder, VectorEncoder
from service.themes.mapping import MAPPING_FILE, Calibration, TaxonomyMapper, example_texts
from service.themes.model import CommentTheme, ThemeModel
from service.themes.report import ThemeReport, build_report, theme_outs
from service.themes.representation import ClassTfidfKeywords
from service.themes.taxonomy import TAXONOMY_FILE, Taxonomy, Touchpoint
from service.segmentation import ClauseSegmenter, Unit

__all__ = [
    "CommentTheme", "ThemeAssigner", "ThemeComponents", "ThemeModel", "ThemeReport", "Taxonomy", "build_report",
    "theme_outs", "themes_available",
]


_LOADED: dict[tuple[Path, int, int], tuple[Taxonomy, ThemeEmbedder, TaxonomyMapper]] = {}
MAX_EXTENDED = 64  # sets of additions (about one per tenant) kept embedded; the least recently used goes first
_EXTENDED_LOCK = threading.Lock()


def themes_available(path: Path) -> bool:
    return (path / TAXONOMY_FILE).exists() and (path / LANGUAGE_MEANS_FILE).exists()


@dataclass
class ThemeComponents:
    """What every theme model of this process shares (the taxonomy is embedded once, ~1 s)."""

    settings: Settings
    taxonomy: Taxonomy
    embedder: ThemeEmbedder
    mapper: TaxonomyMapper
    segmenter: ClauseSegmenter
    base: "ThemeComponents | None" = None  # with additions: the shipped taxonomy's components they extend
    _extended: OrderedDict = field(default_factory=OrderedDict, repr=False)  # additions -> components (embedded once)
    _taxonomy_model: ThemeModel | None = field(default=None, repr=False)  # real-time assignment's, built once

    @classmethod
    def load(cls, settings: Settings, backbone_file: E5File | None = None,
             encoder: VectorEncoder | None = None) -> "ThemeComponents":
        """Cached per themes folder and encoder: the API, batch jobs and evaluation share one embedded taxonomy."""
        key = (settings.themes_path.resolve(), settings.inference_batch_size, settings.inference_units, id(encoder))
        if key not in _LOADED:
            path = key[0]
            taxonomy = Taxonomy.load(path / TAXONOMY_FILE)
            embedder = ThemeEmbedder(path / LANGUAGE_MEANS_FILE, backbone_file=backbone_file, encoder=encoder,
                                     batch_size=settings.inference_batch_size, units=settings.inference_units).fit()
            mapper = TaxonomyMapper(taxonomy, Calibration.load(path / MAPPING_FILE)).fit(embedder.transform)
            _LOADED[key] = (taxonomy, embedder, mapper)
        taxonomy, embedder, mapper = _LOADED[key]
        return cls(settings, taxonomy, embedder, mapper, ClauseSegmenter())

    @property
    def version(self) -> str:
        cal = self.mapper.calibration_
        return f"themes-e5-{self.taxonomy.version}-{self.taxonomy.digest[:6]}-t{cal.threshold:.3f}"

    def new_model(self, **overrides: object) -> ThemeModel:
        """An unfitted model with the configured stages; ``overrides`` replace constructor arguments."""
        s = self.settings
        args: dict[str, object] = dict(
            embedder=self.embedder, mapper=self.mapper,
            grouping=AgglomerativeThemes(s.themes_group_distance, max_fit=s.themes_max_cluster_units),
            clustering=WardThemes(s.themes_discovery_cohesion, max_fit=s.themes_max_cluster_units),
            subclustering=WardThemes(s.themes_subtheme_cohesion, max_fit=s.themes_max_cluster_units),
            keywords=ClassTfidfKeywords(), segmenter=self.segmenter,
            min_theme_size=s.themes_min_theme_size, min_theme_share=s.themes_min_theme_share,
        )
        args.update(overrides)
        return ThemeModel(**args)  # type: ignore[arg-type]

    def taxonomy_model(self) -> ThemeModel:
        return self.new_model().for_taxonomy(self.mapper.prototypes_.shape[1])

    def assigner_model(self) -> ThemeModel:
        """One taxonomy model per components, shared by real-time assignment (which only reads it)."""
        if self._taxonomy_model is None:
            self._taxonomy_model = self.taxonomy_model()
        return self._taxonomy_model

    def with_additions(self, additions: Sequence[Touchpoint]) -> "ThemeComponents":
        """The shipped taxonomy plus ``additions`` (appended, so touchpoint indices of the shipped ones stay):
        only the additions' descriptions and examples are embedded, once per set of additions (the last
        ``MAX_EXTENDED`` sets are kept)."""
        base = self.base or self
        if not additions:
            return base
        key = tuple((t.key, t.label, t.description, tuple(sorted(t.examples.items()))) for t in additions)
        with _EXTENDED_LOCK:
            if key in base._extended:
                base._extended.move_to_end(key)
                return base._extended[key]
        taxonomy = base.taxonomy.extended(list(additions))
        texts, langs, owner = example_texts(additions, start=len(base.taxonomy.touchpoints))
        mapper = base.mapper.extended(taxonomy, base.embedder.transform(texts, langs), owner)
        made = replace(base, taxonomy=taxonomy, mapper=mapper, base=base, _extended=OrderedDict(),
                       _taxonomy_model=None)
        with _EXTENDED_LOCK:
            base._extended[key] = made
            while len(base._extended) > MAX_EXTENDED:
                base._extended.popitem(last=False)
        return made


class ThemeAssigner:
    """Pipeline stage: each comment's touchpoints (and discovered themes of ``model``), no clustering.

    ``components`` are the shipped taxonomy's; a call may pass other ones (a tenant's taxonomy, with its
    additions: ``ThemeComponents.with_additions``) to assign with. ``transform`` accepts the clause units
    and their centred vectors when the caller computed them in its own encoder pass (the sentiment stage
    does); otherwise it encodes them itself.
    """

    def __init__(self, components: ThemeComponents, model: ThemeModel | None = None) -> None:
        self.components = components
        self.model = model or components.assigner_model()
        self.version = components.version

    def transform(self, texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentOut | None],
                  units: Sequence[Sequence[Unit]] | None = None, vectors: np.ndarray | None = None,
                  components: ThemeComponents | None = None) -> list[list[ThemeOut]]:
        model = self.model if components is None or components is self.components else components.assigner_model()
        return theme_outs(model, model.predict(texts, languages, units, vectors))
