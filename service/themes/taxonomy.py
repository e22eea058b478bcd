"""The editable touchpoint taxonomy (``models/themes/taxonomy.yaml``): labels, descriptions, examples.

Each touchpoint is defined by what it means (a description and a few example clauses per language,
which the mapper embeds) and, as a prior, which lexicon concepts name it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from service.themes.lexicon import ConceptLexicon, load_lexicon

TAXONOMY_FILE = "taxonomy.yaml"


@dataclass(frozen=True)
class Touchpoint:
    key: str
    label: str
    labels: dict[str, str]
    description: str
    concepts: tuple[str, ...]
    examples: dict[str, tuple[str, ...]]

    def label_in(self, language: str) -> str:
        return self.labels.get(language, self.label)


class Taxonomy:
    """Touchpoints in file order; ``concept_owner`` maps a lexicon concept to the touchpoint claiming it."""

    def __init__(self, touchpoints: list[Touchpoint], lexicon: ConceptLexicon, version: str, digest: str = "") -> None:
        self.touchpoints = touchpoints
        self.by_key = {t.key: t for t in touchpoints}
        self.lexicon = lexicon
        self.version = version
        self.digest = digest
        owner: dict[str, str] = {}
        for t in touchpoints:
            if not any(t.examples.values()) and not t.description:
                raise ValueError(f"touchpoint {t.key!r} needs a description or examples")
            for c in t.concepts:
                if c not in lexicon.index:
                    raise ValueError(f"touchpoint {t.key!r} names unknown concept {c!r}")
                if c in owner:
                    raise ValueError(f"concept {c!r} is claimed by both {owner[c]!r} and {t.key!r}")
                owner[c] = t.key
        self.concept_owner = owner

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.touchpoints]

    def extended(self, extra: list[Touchpoint]) -> "Taxonomy":
        """This taxonomy plus touchpoints added by people (stored in the database, never in the YAML)."""
        clash = sorted({t.key for t in extra} & set(self.by_key))
        if clash:
            raise ValueError(f"touchpoint keys already in the taxonomy: {', '.join(clash)}")
        digest = hashlib.sha256((self.digest + "".join(
            f"|{t.key}:{t.description}:{sorted(t.examples.items())}" for t in extra)).encode()).hexdigest()[:12]
        return Taxonomy([*self.touchpoints, *extra], self.lexicon, self.version, digest)

    @classmethod
    def load(cls, path: Path) -> "Taxonomy":
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
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
                examples={str(lang): tuple(str(e) for e in ex or ()) for lang, ex in (v.get("examples") or {}).items()},
            )
            for k, v in raw["touchpoints"].items()
        ]
        return cls(tps, lexicon, str(raw.get("version", "0")), hashlib.sha256(text.encode()).hexdigest()[:12])
