"""The theme evaluation sets, read the same way by ``eval_themes`` and ``themes_references``.

1. ``tests/data/themes_parallel.tsv``: 72 survey comments, each written in sv/da/fi/en (288 rows), gold =
   touchpoint; used while writing the lexicon and the taxonomy examples and for calibration (dev).
   ``themes_parallel_holdout.tsv`` (24 x 4) was written after the lexicon was frozen; never tuned on.
2. bitext_customer_support_en: 11 CX categories (stratified sample by a stable hash).
3. semeval_absa_en: 2015 restaurants + hotels test sentences with exactly one entity (domain:entity).
4. banking77 test: 77 intents grouped into 7 coarse themes.
5. trustpilot_sv_neutral_2023: the business's industry category (weak signal; themes != industry).
6. A mixed Trustpilot dump (sv 2025 + da) for coverage: no gold, the share left unassigned.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from pathlib import Path

from training.data import REPO_ROOT, read_tsv

PARALLEL = REPO_ROOT / "tests" / "data" / "themes_parallel.tsv"
HOLDOUT = REPO_ROOT / "tests" / "data" / "themes_parallel_holdout.tsv"

Dataset = tuple[list[str], list[str], list[str]]  # texts, languages, gold labels


def load_parallel(path: Path = PARALLEL) -> tuple[list[str], list[str], list[str], list[str]]:
    """(texts, languages, gold themes, group ids) of the hand-made parallel set."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], [r["lang"] for r in rows], [r["theme"] for r in rows], [r["group"] for r in rows]


def _stratified(rows: list[tuple[str, str]], per_label: int, key: str) -> Dataset:
    by: dict[str, list[str]] = defaultdict(list)
    for label, text in rows:
        by[label].append(text)
    texts, gold = [], []
    for label in sorted(by):
        chosen = sorted(by[label], key=lambda t: hashlib.sha1(f"{key}:{t}".encode()).hexdigest())[:per_label]
        texts += chosen
        gold += [label] * len(chosen)
    return texts, ["en"] * len(texts), gold


def load_bitext(per_label: int) -> Dataset:
    rows = [(r["category"].replace("INVOICES", "INVOICE").replace("REFUNDS", "REFUND").replace("SHIPPING_ADDRESS", "SHIPPING"),
             r["text"]) for r in read_tsv("bitext_customer_support_en/bitext_customer_support_en.tsv")]
    return _stratified(rows, per_label, "bitext")


def load_semeval() -> Dataset:
    texts, gold = [], []
    for r in read_tsv("semeval_absa_en/semeval_absa_en_sentences.tsv"):
        if (r["edition"] == "semeval2015" and r["split"] == "test" and r["domain"] in ("restaurants", "hotels")
                and r["entities"] and "|" not in r["entities"]):
            texts.append(r["text"])
            gold.append(f"{r['domain']}:{r['entities']}")
    return texts, ["en"] * len(texts), gold


_BANKING_COARSE: list[tuple[str, str]] = [
    ("refund", "refund_payment"), ("top_up", "top_up"), ("topping_up", "top_up"), ("transfer", "transfer"),
    ("beneficiary", "transfer"), ("receiving_money", "transfer"), ("cash", "cash_atm"), ("atm", "cash_atm"),
    ("exchange", "fees_exchange"), ("fee", "fees_exchange"), ("charge", "fees_exchange"),
    ("verify", "account_identity"), ("identity", "account_identity"), ("passcode", "account_identity"),
    ("personal_details", "account_identity"), ("terminate_account", "account_identity"), ("age_limit", "account_identity"),
    ("lost_or_stolen_phone", "account_identity"), ("pin", "card"), ("card", "card"), ("contactless", "card"),
    ("visa", "card"), ("apple_pay", "card"), ("payment", "refund_payment"), ("direct_debit", "refund_payment"),
    ("balance", "transfer"), ("country_support", "account_identity"), ("currency", "fees_exchange"),
]


def banking_coarse(label: str) -> str:
    for needle, coarse in _BANKING_COARSE:
        if needle in label.lower():
            return coarse
    return "other"


def load_banking() -> Dataset:
    rows = [r for r in read_tsv("banking77/banking77.tsv") if r["split"] == "test"]
    return [r["text"] for r in rows], ["en"] * len(rows), [banking_coarse(r["label"]) for r in rows]


def load_trustpilot_sv(per_label: int) -> Dataset:
    rows = [(r["category"], r["text"]) for r in read_tsv("trustpilot_sv_neutral_2023/trustpilot_sv_neutral_2023.tsv")
            if r["lang_heuristic"] == "sv"]
    counts = Counter(c for c, _ in rows)
    rows = [(c, t) for c, t in rows if counts[c] >= 100]
    texts, _, gold = _stratified(rows, per_label, "tp-sv")
    return texts, ["sv"] * len(texts), gold


def load_mixed_dump(per_language: int = 1500) -> Dataset:
    """Real reviews as a survey dump would hold them: Swedish and Danish Trustpilot, no gold (coverage only)."""
    sv = [r["text"] for r in read_tsv("trustpilot_sv_2025/trustpilot_sv_2025.tsv") if r["lang_heuristic"] == "sv"]
    da = [r["text"] for r in read_tsv("trustpilot_da_sentida/trustpilot_da_sentida.tsv")]
    key = lambda t: hashlib.sha1(f"mixed:{t}".encode()).hexdigest()  # noqa: E731
    texts, langs = [], []
    for lang, rows in (("sv", sv), ("da", da)):
        chosen = sorted({t.strip() for t in rows if t.strip()}, key=key)[:per_language]
        texts += chosen
        langs += [lang] * len(chosen)
    return texts, langs, [""] * len(texts)


def sets(per_label: int = 150) -> dict[str, tuple[list[str], list[str], list[str], list[str] | None]]:
    """name -> (texts, languages, gold, parallel group ids or None), in report order."""
    out: dict[str, tuple[list[str], list[str], list[str], list[str] | None]] = {}
    for name, path in (("parallel_holdout", HOLDOUT), ("parallel_dev", PARALLEL)):
        t, lang, g, grp = load_parallel(path)
        out[name] = (t, lang, g, grp)
    for name, data in (("bitext", load_bitext(per_label)), ("semeval", load_semeval()), ("banking77", load_banking()),
                       ("trustpilot_sv", load_trustpilot_sv(per_label)), ("mixed_dump", load_mixed_dump())):
        out[name] = (*data, None)
    return out
