"""Seeded multilingual concept lexicon: maps sv/da/fi/en words, stems and compound parts to shared concept ids.

Since the e5 themes, the lexicon is a prior, not the features: a clause that names a concept a
touchpoint claims leans towards that touchpoint (``mapping.py``). Matching handles inflection and
compounds ("leveranstid", "asiakaspalvelussa") that exact keyword lists miss.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from service.config import LANGUAGES

LANGS = LANGUAGES
# Which languages' terms are matched in a comment of a given language. Swedish and Danish read each
# other's terms (shared vocabulary, frequent LID confusion, Norwegian comments); any other or unknown
# language is matched against every term.
_MATCH_LANGS: dict[str, tuple[str, ...]] = {"sv": ("sv", "da"), "da": ("da", "sv"), "fi": ("fi",), "en": ("en",)}
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-fold, unify apostrophes and whitespace so terms and comments compare equal."""
    t = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u00b4", "'")
    return _SPACE.sub(" ", t).strip()


@dataclass(frozen=True)
class Concept:
    id: str
    label: str
    weight: float
    terms: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Match:
    """One lexicon hit: the concept and the word(s) of the comment that carried it."""

    concept: str
    surface: str


@dataclass
class _Matcher:
    """All terms of one group of languages, compiled once."""

    exact: dict[str, str]
    stem_re: re.Pattern[str] | None
    stems: dict[str, str]
    phrase_re: re.Pattern[str] | None
    phrases: dict[str, str]
    compound_min_len: int
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def token_concepts(self, token: str) -> tuple[str, ...]:
        """Concepts in one word: an exact word, or a left-to-right segmentation into known stems.

        A stem counts at the word start, right after another matched stem (compound parts), or
        anywhere when it is long enough to be unambiguous ("asiakaspalvelussa", "snabbleverans").
        """
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        out: list[str] = []
        if token in self.exact:
            out.append(self.exact[token])
        elif self.stem_re is not None:
            p, prev_end, n = 0, 0, len(token)
            while p < n:
                m = self.stem_re.match(token, p)
                if m and (p == 0 or p == prev_end or m.end() - p >= self.compound_min_len):
                    out.append(self.stems[m.group(0)])
                    p = prev_end = m.end()
                    continue
                if n - p <= self.compound_min_len:
                    break
                p += 1
        res = tuple(out)
        if len(self._cache) < 200_000:
            self._cache[token] = res
        return res

    def matches(self, text: str) -> list[Match]:
        t = normalize(text)
        found: list[Match] = []
        if self.phrase_re is not None:
            spans = []
            for m in self.phrase_re.finditer(t):
                end = m.end()
                while end < len(t) and (t[end].isalnum() or t[end] == "_"):
                    end += 1  # the surface keyword is the whole last word
                found.append(Match(self.phrases[m.group(1)], t[m.start():end]))
                spans.append((m.start(), end))
            for s, e in reversed(spans):
                t = t[:s] + " " * (e - s) + t[e:]
        for w in _WORD.findall(t):
            for c in self.token_concepts(w):
                found.append(Match(c, w))
        return found


class ConceptLexicon:
    """Loaded ``lexicon.yaml``: concepts, their labels/weights and a matcher per language."""

    def __init__(self, concepts: Sequence[Concept], version: str, compound_min_len: int = 5) -> None:
        self.concepts = list(concepts)
        self.version = version
        self.compound_min_len = compound_min_len
        self.ids = [c.id for c in self.concepts]
        self.index = {c: i for i, c in enumerate(self.ids)}
        self.weights = np.array([c.weight for c in self.concepts], dtype=np.float64)
        self._matchers: dict[tuple[str, ...], _Matcher] = {}

    @classmethod
    def load(cls, path: Path) -> "ConceptLexicon":
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("concepts"), dict):
            raise ValueError(f"{path}: expected a mapping with 'concepts'")
        concepts = []
        for cid, spec in raw["concepts"].items():
            terms = {
                lang: tuple(dict.fromkeys(str(t).strip() for t in (spec.get("terms", {}).get(lang) or []) if str(t).strip()))
                for lang in LANGS
            }
            concepts.append(Concept(str(cid), str(spec.get("label", cid)), float(spec.get("weight", 1.0)), terms))
        return cls(concepts, str(raw.get("version", "0")), int(raw.get("compound_min_len", 5)))

    def label(self, concept_id: str) -> str:
        return self.concepts[self.index[concept_id]].label

    def _matcher(self, language: str) -> _Matcher:
        langs = _MATCH_LANGS.get(language, LANGS)
        m = self._matchers.get(langs)
        if m is None:
            m = self._matchers[langs] = self._build(langs)
        return m

    def _build(self, langs: tuple[str, ...]) -> _Matcher:
        exact: dict[str, str] = {}
        stems: dict[str, str] = {}
        phrases: dict[str, str] = {}
        exact_phrases: set[str] = set()
        for c in self.concepts:  # first concept listing a term wins: lexicon order is priority order
            for lang in langs:
                for term in c.terms[lang]:
                    is_exact = term.startswith("=")
                    t = normalize(term.lstrip("="))
                    if not t:
                        continue
                    if _WORD.fullmatch(t) is None:  # several words, or a hyphen/apostrophe
                        phrases.setdefault(t, c.id)
                        if is_exact:
                            exact_phrases.add(t)
                    elif is_exact:
                        exact.setdefault(t, c.id)
                    else:
                        stems.setdefault(t, c.id)

        def alternation(items: list[str]) -> str:
            return "|".join(re.escape(s) for s in sorted(items, key=lambda s: (-len(s), s)))

        stem_re = re.compile(f"(?:{alternation(list(stems))})") if stems else None
        phrase_re = None
        if phrases:
            parts = [re.escape(p) + (r"(?!\w)" if p in exact_phrases else "")
                     for p in sorted(phrases, key=lambda s: (-len(s), s))]
            phrase_re = re.compile(r"(?<!\w)(" + "|".join(parts) + ")")
        return _Matcher(exact, stem_re, stems, phrase_re, phrases, self.compound_min_len)

    def match(self, text: str, language: str) -> list[Match]:
        return self._matcher(language).matches(text)


@lru_cache(maxsize=8)
def load_lexicon(path: Path) -> ConceptLexicon:
    return ConceptLexicon.load(path)
