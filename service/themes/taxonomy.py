"""The editable touchpoint taxonomy (``models/themes/taxonomy.yaml``) and its link to lexicon concepts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from service.themes.lexicon import ConceptLexicon, load_lexicon


@dataclass(frozen=True)
class Touchpoint:
    key: str
    label: str
    labels: dict[str, str]
    description: str
    concepts: tuple[str, ...]


class Taxonomy:
    """Touchpoints in file order, plus the concept -> group map used to seed and name themes.

    A *group* is a touchpoint key, or ``new:<concept>`` for a lexicon concept that no touchpoint
    claims; such groups become discovered themes when enough comments are about them.
    """

    def __init__(self, touchpoints: list[Touchpoint], lexicon: ConceptLexicon, version: str) -> None:
        self.touchpoints = touchpoints
        self.by_key = {t.key: t for t in touchpoints}
        self.lexicon = lexicon
        self.version = version
        owner: dict[str, str] = {}
        for t in touchpoints:
            for c in t.concepts:
                if c not in lexicon.index:
                    raise ValueError(f"touchpoint {t.key!r} names unknown concept {c!r}")
                if c in owner:
                    raise ValueError(f"concept {c!r} is claimed by both {owner[c]!r} and {t.key!r}")
                owner[c] = t.key
        self.concept_group = [owner.get(c, f"new:{c}") for c in lexicon.ids]
        self.groups = list(dict.fromkeys([t.key for t in touchpoints] + self.concept_group))
        gi = {g: i for i, g in enumerate(self.groups)}
        self.membership = np.zeros((len(lexicon.ids), len(self.groups)))
        for ci, g in enumerate(self.concept_group):
            self.membership[ci, gi[g]] = 1.0

    @classmethod
    def load(cls, path: Path) -> "Taxonomy":
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("touchpoints"), dict):
            raise ValueError(f"{path}: expected a mapping with 'touchpoints'")
        lexicon = load_lexicon((path.parent / str(raw.get("lexicon", "lexicon.yaml"))).resolve())
        tps = [
            Touchpoint(
                key=str(k),
                label=str(v.get("label", k)),
                labels={str(a): str(b) for a, b in (v.get("labels") or {}).items()},
                description=str(v.get("description", "")),
                concepts=tuple(str(c) for c in v.get("concepts") or ()),
            )
            for k, v in raw["touchpoints"].items()
        ]
        return cls(tps, lexicon, str(raw.get("version", "0")))

    def group_label(self, group: str) -> str:
        if group in self.by_key:
            return self.by_key[group].label
        return self.lexicon.label(group.removeprefix("new:"))

    def touchpoint_of(self, group: str) -> str | None:
        return group if group in self.by_key else None
