"""Find and replace personal data (PII) in comment text with typed placeholders.

One job: ``find_pii(text)`` returns the spans, ``redact(text)`` replaces them. Detected, each
replaced by its placeholder:

* ``[EMAIL]`` e-mail addresses;
* ``[URL]`` ``http(s)://`` / ``ftp://`` URLs, ``www.`` hosts, and bare domains on common TLDs
  (``butiken.se/retur``; the TLD must be lower case so "Bra.Se till att" is left alone);
* ``[PHONE]`` international numbers (``+46 70 123 45 67``, ``0045 12345678``, ``+358 (0)40 123 4567``),
  national numbers with a trunk 0 (Swedish ``070-123 45 67``, ``08-12 34 56``, Finnish
  ``040 123 4567``), Danish/Norwegian ``12 34 56 78``, and any 7-15 digit number right after a
  phone word (``tlf. 12345678``, ``ring mig på …``, ``puh. …``);
* ``[CARD]`` payment card numbers: 13-19 digits (contiguous or in 4-4-4-4(-3) / 4-6-5 groups),
  issuer digit 2-6, Luhn check;
* ``[PERSONAL_ID]`` Swedish personnummer / samordningsnummer (YYMMDD-NNNC or YYYYMMDDNNNC, ``-``,
  ``+`` or nothing between, valid date (day + 60 for samordningsnummer), Luhn check digit);
  Danish CPR (DDMMYY-SSSS: a valid date with the century taken from the 7th digit; no modulus-11
  check, which CPR numbers issued since 2007 need not pass; without the hyphen only after the word
  CPR); Finnish henkilötunnus (DDMMYY, century sign ``+ - A-F U-Y``, NNN, mod-31 check character).

Numbers that fail their checksum or date are left as they are, and so are prices, dates, times,
scores and numbers right after an order/invoice/case/parcel word ("ordernummer 123456789").

Not detected: person names and street addresses. No reliable offline method exists here (no
spaCy NER model is shipped and nothing may be downloaded at run time; capitalised-word rules would
redact every place and brand name), so a name in a comment stays in it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

PiiKind = Literal["EMAIL", "URL", "PHONE", "CARD", "PERSONAL_ID"]
KINDS: tuple[PiiKind, ...] = ("EMAIL", "URL", "PHONE", "CARD", "PERSONAL_ID")


@dataclass(frozen=True)
class PiiSpan:
    """``text[start:end]`` of the original text is personal data of ``kind``."""

    start: int
    end: int
    kind: PiiKind

    @property
    def placeholder(self) -> str:
        return f"[{self.kind}]"


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the spans (offsets into the original) that were replaced."""

    text: str
    spans: tuple[PiiSpan, ...]

    @property
    def count(self) -> int:
        return len(self.spans)

    def counts(self) -> dict[str, int]:
        return dict(Counter(s.kind for s in self.spans))


def redact(text: str) -> Redaction:
    """Replace every PII span of ``text`` by its placeholder (``[EMAIL]``, ``[PHONE]``, ...)."""
    spans = find_pii(text)
    if not spans:
        return Redaction(text, ())
    parts: list[str] = []
    pos = 0
    for s in spans:
        parts.append(text[pos:s.start])
        parts.append(s.placeholder)
        pos = s.end
    parts.append(text[pos:])
    return Redaction("".join(parts), tuple(spans))


def find_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping PII spans in text order. Detectors run from the most to the least specific;
    a later detector's match that overlaps an earlier one is dropped."""
    taken: list[PiiSpan] = []
    for kind, detector in _DETECTORS:
        for start, end in detector(text):
            if start < end and not any(start < t.end and t.start < end for t in taken):
                taken.append(PiiSpan(start, end, kind))
    return sorted(taken, key=lambda s: s.start)


# -- checksums and dates -----------------------------------------------------------------------
def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a digit string, check digit last."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def swedish_personnummer_valid(s: str) -> bool:
    """YYMMDD[-+]NNNC or YYYYMMDD[-]NNNC (samordningsnummer: day + 60); date and Luhn check digit."""
    m = _SE_ID.fullmatch(s.strip())
    return m is not None and _se_ok(m)


def danish_cpr_valid(s: str) -> bool:
    """DDMMYY-SSSS with a valid date (century from the 7th digit)."""
    m = _DK_ID.fullmatch(s.strip())
    return m is not None and _dk_ok(m)


def finnish_hetu_valid(s: str) -> bool:
    """DDMMYY, century sign, NNN, mod-31 check character."""
    m = _FI_ID.fullmatch(s.strip())
    return m is not None and _fi_ok(m)


# -- detectors -----------------------------------------------------------------------------------
Detector = Callable[[str], Iterator[tuple[int, int]]]
_TRAILING = ".,;:!?)]}'\"»”’"

_SCHEME_URL = re.compile(r"(?i)\b(?:https?|ftp)://[^\s<>\"'`]+")
_WWW_URL = re.compile(r"(?i)(?<![\w@.\-])www\.[^\s<>\"'`]+")
_TLDS = ("se", "dk", "fi", "no", "is", "ee", "com", "net", "org", "eu", "io", "info", "de", "uk")
_BARE_URL = re.compile(
    r"(?<![\w@.\-/])(?:(?i:[a-z0-9åäöæøü](?:[a-z0-9åäöæøü\-]*[a-z0-9åäöæøü])?)\.)+"
    r"(?:" + "|".join(_TLDS) + r")(?![\w\-])(?:/[^\s<>\"'`]*)?"
)
_EMAIL = re.compile(r"(?<![\w.+\-%])[\w.+\-%]+@(?:[\w\-]+\.)+[A-Za-z]{2,}(?![\w\-])")


def _urls(pattern: re.Pattern[str]) -> Detector:
    def find(text: str) -> Iterator[tuple[int, int]]:
        for m in pattern.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in _TRAILING:
                if text[end - 1] == ")" and text[m.start():end].count("(") >= text[m.start():end].count(")"):
                    break
                end -= 1
            yield m.start(), end
    return find


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end()


# Personal identity numbers. The lookarounds keep them from starting or ending inside a longer number.
_SE_ID = re.compile(r"(?<![\w\-+])(?P<c>\d{2})?(?P<yy>\d{2})(?P<mm>\d{2})(?P<dd>\d{2})(?P<sep>[-+]?)"
                    r"(?P<nnn>\d{3})(?P<chk>\d)(?![\w\-])")
_DK_ID = re.compile(r"(?<![\w\-+])(?P<dd>\d{2})(?P<mm>\d{2})(?P<yy>\d{2})(?P<sep>-?)(?P<s>\d{4})(?![\w\-])")
_FI_ID = re.compile(r"(?<![\w\-+])(?P<dd>\d{2})(?P<mm>\d{2})(?P<yy>\d{2})(?P<c>[-+A-FU-Ya-fu-y])"
                    r"(?P<n>\d{3})(?P<chk>[0-9A-Ya-y])(?![\w\-])")
_FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_FI_CENTURY = {"+": 1800, "-": 1900, "U": 1900, "V": 1900, "W": 1900, "X": 1900, "Y": 1900,
               "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}
_CPR_WORD = re.compile(r"(?i)\bcpr\w*\W{0,5}$")


def _se_ok(m: re.Match[str]) -> bool:
    century, sep = m["c"], m["sep"]
    yy, mm, dd = int(m["yy"]), int(m["mm"]), int(m["dd"])
    if dd > 60:  # samordningsnummer
        dd -= 60
    if century is not None:
        if century not in ("18", "19", "20") or sep == "+":
            return False
        years = [int(century) * 100 + yy]
    else:
        years = [1800 + yy, 1900 + yy] if sep == "+" else [1900 + yy, 2000 + yy]
    if not any(_valid_date(y, mm, dd) for y in years):
        return False
    return luhn_valid(m["yy"] + m["mm"] + m["dd"] + m["nnn"] + m["chk"])


def _dk_ok(m: re.Match[str]) -> bool:
    yy, seventh = int(m["yy"]), int(m["s"][0])
    if seventh <= 3:
        year = 1900 + yy
    elif seventh in (4, 9):
        year = 2000 + yy if yy <= 36 else 1900 + yy
    else:
        year = 2000 + yy if yy <= 57 else 1800 + yy
    return _valid_date(year, int(m["mm"]), int(m["dd"]))


def _fi_ok(m: re.Match[str]) -> bool:
    century = _FI_CENTURY.get(m["c"].upper())
    n = int(m["n"])
    if century is None or n < 2:
        return False
    if not _valid_date(century + int(m["yy"]), int(m["mm"]), int(m["dd"])):
        return False
    return _FI_CHECK[int(m["dd"] + m["mm"] + m["yy"] + m["n"]) % 31] == m["chk"].upper()


def _personal_ids(text: str) -> Iterator[tuple[int, int]]:
    for m in _FI_ID.finditer(text):
        if _fi_ok(m):
            yield m.start(), m.end()
    for m in _SE_ID.finditer(text):
        if _se_ok(m):  # even after "kundnummer": some companies use the personnummer as customer number
            yield m.start(), m.end()
    for m in _DK_ID.finditer(text):
        if _dk_ok(m) and (m["sep"] or _CPR_WORD.search(text[max(0, m.start() - 30):m.start()])):
            yield m.start(), m.end()


# Payment cards: 16/19 digits in groups of four, Amex/Diners 4-6-5/4-6-4, or 13-19 contiguous digits.
_CARD = re.compile(r"(?<![\d\-])(?:\d{4}(?P<s>[ \-])\d{4}(?P=s)\d{4}(?P=s)\d{4}(?:(?P=s)\d{3})?"
                   r"|\d{4}(?P<t>[ \-])\d{6}(?P=t)\d{4,5}|(?P<plain>\d{13,19}))(?![\d]|-\d)")


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if not (13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)):
            continue
        if m["plain"] is not None and _after_reference_word(text, m.start()):
            continue
        yield m.start(), m.end()


# Phone numbers.
_INTL_PHONE = re.compile(r"(?<![\w+])(?:\+|00)[1-9][\d \-()]{5,22}\d(?!\d)")
_TRUNK_PHONE = re.compile(r"(?<![\w+\-/.,:])0[1-9][\d \-]{5,16}\d(?![\d])")
_PAIRS_PHONE = re.compile(r"(?<![\w+\-/.,:])[2-9]\d(?: \d{2}){3}(?![\d]|[.,:/\-]\d| \d)")
_CONTEXT_NUMBER = re.compile(r"(?<![\w+\-/.,:])\+?\d[\d \-]{5,20}\d(?![\d]|[.,:/]\d)")
_PHONE_WORD = re.compile(
    r"(?i)\b(?:tel|tlf|telefon\w*|telephone|phone|mobil\w*|mob|cell\w*|gsm|sms|whatsapp|ring\w*|call\w*|"
    r"puh|puhelin\w*|soita\w*|numero\w*|nummer|number|nr|nro)\b"
)
_REFERENCE_WORD = re.compile(
    r"(?i)\b(?:order|ordre|tilaus|booking|bokning|varaus|faktura|lasku|invoice|kvitto|kvittering|kuitti|receipt|"
    r"ref|referens|reference|viite|ärende|sag|case|tracking|sporing|spårning|kolli|paket|pakke|paketti|lähetys|"
    r"sändning|forsendelse|artikel|artikkel|tuote|product|produkt|kund|kunde|asiakas|customer|medlem|member|"
    r"jäsen|konto|account|tili|serie|serial|ticket|reklamation|reklamasjon|avtal|aftale|sopimus|ocr|pin|kod|kode)"
    r"\w*[\s.:#-]*(?:nr|no|nro|num|nummer|number|numero|id)?[\s.:#]*$"
)
_DATE_OR_TIME = re.compile(
    r"^(?:\d{1,2}[-. /]\d{1,2}[-. /](?:\d{2}|\d{4})|\d{4}[-. /]\d{1,2}[-. /]\d{1,2}"
    r"|(?:[01]?\d|2[0-3])[:.]?[0-5]\d ?[-–] ?(?:[01]?\d|2[0-3])[:.]?[0-5]\d)$"
)
_CURRENCY_AFTER = re.compile(r"(?i)^\s?(?:kr\b|kr\.|sek|dkk|nok|eur|euro|€|\$|:-|,-|e\b|€)")
_CURRENCY_BEFORE = re.compile(r"(?i)(?:kr\.?|sek|dkk|nok|eur|€|\$|£)\s?$")


def _after_reference_word(text: str, start: int) -> bool:
    """Right after "order", "ordernummer", "faktura nr", "ärende #", ...: a reference, not personal data."""
    return (start > 0 and text[start - 1] == "#") or bool(_REFERENCE_WORD.search(text[max(0, start - 40):start]))


def _is_phone_like(text: str, start: int, end: int, min_digits: int, max_digits: int) -> bool:
    s = text[start:end]
    digits = re.sub(r"\D", "", s)
    if not (min_digits <= len(digits) <= max_digits):
        return False
    flat = re.sub(r" ?- ?", "-", re.sub(r"\((\d{1,4})\)", r"\1", s))  # "073 - 123" has one separator
    if re.search(r"[ \-]{2}", flat) or _DATE_OR_TIME.match(s):
        return False
    if _CURRENCY_AFTER.match(text[end:end + 6]) or _CURRENCY_BEFORE.search(text[max(0, start - 5):start]):
        return False
    return not _after_reference_word(text, start)


def _trim_single_digit_tail(text: str, start: int, end: int) -> int:
    """"+46 70 123 45 67 2 gånger": a lone trailing digit is not part of the number."""
    s = text[start:end]
    m = re.search(r"[ \-]\d$", s)
    return end - 2 if m and len(s) > 10 else end


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for m in _INTL_PHONE.finditer(text):
        end = _trim_single_digit_tail(text, m.start(), m.end())
        s = text[m.start():end]
        body = s[1:] if s.startswith("+") else s[2:]
        if "(" in re.sub(r"\(\d{1,4}\)", "", s) or ")" in re.sub(r"\(\d{1,4}\)", "", s):
            continue
        if _is_phone_like(text, m.start(), end, 8 + (0 if s.startswith("+") else 2), 17) and len(
                re.sub(r"\D", "", body)) <= 15:
            yield m.start(), end
    for m in _TRUNK_PHONE.finditer(text):
        end = _trim_single_digit_tail(text, m.start(), m.end())
        if _is_phone_like(text, m.start(), end, 8, 12):
            yield m.start(), end
    for m in _PAIRS_PHONE.finditer(text):
        if _is_phone_like(text, m.start(), m.end(), 8, 8):
            yield m.start(), m.end()
    for m in _CONTEXT_NUMBER.finditer(text):
        if _PHONE_WORD.search(text[max(0, m.start() - 30):m.start()]):
            end = _trim_single_digit_tail(text, m.start(), m.end())
            if _is_phone_like(text, m.start(), end, 7, 15):
                yield m.start(), end


_DETECTORS: tuple[tuple[PiiKind, Detector], ...] = (
    ("URL", _urls(_SCHEME_URL)),   # before e-mail: user@host inside a URL is part of the URL
    ("EMAIL", _emails),
    ("URL", _urls(_WWW_URL)),
    ("URL", _urls(_BARE_URL)),     # after e-mail: the domain of an address is not a URL of its own
    ("PERSONAL_ID", _personal_ids),
    ("CARD", _cards),
    ("PHONE", _phones),
)
