"""Column mapping: which input columns hold the id, text, language hint and metadata, and the
conversion of one input record into a :class:`CommentIn` (or a per-row reason it cannot be)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError

from service.schemas import CommentIn, CommentMetadata

TEXT_CANDIDATES = ("text", "comment", "comments", "answer", "response", "feedback", "verbatim",
                   "review", "message", "kommentar", "kommentti", "palaute", "svar", "vastaus")
ID_CANDIDATES = ("id", "comment_id", "response_id", "respondent_id")


class MappingError(ValueError):
    """The requested columns are not in the file; ``str(exc)`` lists the columns that are."""


@dataclass
class ColumnMapping:
    """Input column names; ``metadata`` maps a CommentMetadata field (or any extra key) to a column."""

    text: str | None = None
    id: str | None = None
    language: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ColumnMapping":
        return cls(text=d.get("text"), id=d.get("id"), language=d.get("language"),
                   metadata=dict(d.get("metadata") or {}))

    def resolve(self, columns: Sequence[str]) -> "ColumnMapping":
        """Match names against the file's columns (exact, then case-insensitive) and autodetect text/id."""
        def find(name: str, what: str) -> str:
            if name in columns:
                return name
            folded = [c for c in columns if c.lower() == name.lower()]
            if len(folded) == 1:
                return folded[0]
            raise MappingError(f"{what} column {name!r} is not in the file; columns are {list(columns)}")

        def guess(candidates: Sequence[str]) -> str | None:
            lower = {c.lower(): c for c in columns}
            return next((lower[c] for c in candidates if c in lower), None)

        text = find(self.text, "text") if self.text else guess(TEXT_CANDIDATES)
        if text is None:
            raise MappingError(f"no text column found (tried {', '.join(TEXT_CANDIDATES)}); "
                               f"name it with the text column option; columns are {list(columns)}")
        return ColumnMapping(
            text=text,
            id=find(self.id, "id") if self.id else guess(ID_CANDIDATES),
            language=find(self.language, "language") if self.language else None,
            metadata={k: find(v, f"metadata {k!r}") for k, v in self.metadata.items()},
        )


def parse_metadata_spec(specs: Sequence[str] | str | None) -> dict[str, str]:
    """``["survey_id=Survey", "score=NPS", "channel"]`` (or comma-separated) -> {field: column}."""
    if not specs:
        return {}
    if isinstance(specs, str):
        specs = [specs]
    out: dict[str, str] = {}
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, _, col = part.partition("=")
            out[key.strip()] = (col or key).strip()
    return out


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def comment_id_of(record: dict[str, Any], row_idx: int, mapping: ColumnMapping) -> str:
    """The caller's id, or the 1-based row number when the file has no id column."""
    if mapping.id is None:
        return str(row_idx + 1)
    v = record.get(mapping.id)
    return "" if v is None else str(v)


def to_comment(record: dict[str, Any], row_idx: int, mapping: ColumnMapping) -> CommentIn | str:
    """The row as a CommentIn, or the reason it is unusable (reported for that row)."""
    cid = comment_id_of(record, row_idx, mapping)
    if not cid.strip():
        return f"id column {mapping.id!r} is empty"
    text = record.get(mapping.text)
    if text is None:
        return f"text column {mapping.text!r} is missing or null"
    if isinstance(text, (dict, list)):
        return f"text column {mapping.text!r} holds a {type(text).__name__}, not text"
    hint = record.get(mapping.language) if mapping.language else None
    meta_values = {k: record.get(col) for k, col in mapping.metadata.items()}
    meta_values = {k: v for k, v in meta_values.items() if not _blank(v)}
    try:
        metadata = CommentMetadata(**meta_values) if meta_values else None
        return CommentIn(id=cid, text=str(text), language=None if _blank(hint) else str(hint).strip(),
                         metadata=metadata)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return f"invalid row: {problems}"
