"""Touchpoints added to the taxonomy by people: stored rows, read back as ``Touchpoint``s in the order added.

Each addition belongs to a tenant: a store made for a tenant (:meth:`TaxonomyAdditions.for_tenant`) reads
and adds only that tenant's, so one tenant's touchpoints and example comments never reach another's
taxonomy. Keys are made unique within the tenant.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.storage.models import DEFAULT_TENANT, TaxonomyAdditionRow
from service.themes.taxonomy import Touchpoint

MAX_EXAMPLES = 20  # per language
_KEY_TRIES = 20  # keys tried when the chosen one is taken meanwhile (another process, an old database's unique key)


def touchpoint_key(label: str) -> str:
    """``custom_`` + the label in lower-case ASCII words (``Parkering & avgifter`` -> ``custom_parkering_avgifter``)."""
    ascii_ = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    slug = "_".join(re.findall(r"[a-z0-9]+", ascii_.lower()))[:48] or "touchpoint"
    return f"custom_{slug}"


def _touchpoint(row: TaxonomyAdditionRow) -> Touchpoint:
    examples = json.loads(row.examples_json)
    return Touchpoint(key=row.key, label=row.label, labels={}, description=row.description, concepts=(),
                      examples={lang: tuple(ex) for lang, ex in examples.items()})


class TaxonomyAdditions:
    def __init__(self, engine: Engine, tenant: str = DEFAULT_TENANT) -> None:
        self.engine = engine
        self.tenant = tenant

    def for_tenant(self, tenant: str) -> "TaxonomyAdditions":
        """The same store, reading and adding ``tenant``'s additions only."""
        return TaxonomyAdditions(self.engine, tenant)

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def all(self) -> list[Touchpoint]:
        """This tenant's additions, in the order added."""
        with self._session() as s:
            return [_touchpoint(r) for r in s.scalars(select(TaxonomyAdditionRow)
                                                      .where(TaxonomyAdditionRow.tenant == self.tenant)
                                                      .order_by(TaxonomyAdditionRow.id))]

    def add(self, label: str, description: str, examples: Mapping[str, Sequence[str]], created_by: str,
            taken: Sequence[str] = ()) -> Touchpoint:
        """Store a new touchpoint of this tenant under a key made from ``label`` (suffixed when ``taken`` or one
        of the tenant's has it).

        ``ValueError`` when it has neither a description nor an example."""
        label = " ".join(label.split())[:200]
        if not label:
            raise ValueError("the touchpoint needs a name")
        clean = {lang: [" ".join(e.split())[:500] for e in ex if e.strip()][:MAX_EXAMPLES]
                 for lang, ex in examples.items()}
        clean = {lang: ex for lang, ex in clean.items() if ex}
        description = " ".join(description.split())[:1000]
        if not clean and not description:
            raise ValueError("the touchpoint needs a description or at least one example comment")
        base = touchpoint_key(label)
        with self._session() as s:
            stored = set(s.scalars(select(TaxonomyAdditionRow.key).where(TaxonomyAdditionRow.tenant == self.tenant)))
        used = stored | set(taken)
        free = (key for key in (base if k == 1 else f"{base}_{k}" for k in itertools.count(1)) if key not in used)
        for key in itertools.islice(free, _KEY_TRIES):
            row = TaxonomyAdditionRow(key=key, label=label, description=description, tenant=self.tenant,
                                      examples_json=json.dumps(clean, ensure_ascii=True), created_by=created_by[:200])
            try:
                with self._session() as s, s.begin():
                    s.add(row)
            except IntegrityError:
                continue  # taken meanwhile, or (a database made before tenancy) another tenant's key
            return _touchpoint(row)
        raise ValueError("no free key for this touchpoint's name; try another name")
