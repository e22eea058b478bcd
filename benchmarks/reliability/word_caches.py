"""What each never-seen word costs the service's bounded word caches (issue #13: memory under load).

    python benchmarks/reliability/word_caches.py [--comments 20000]

Comments ending with a new order reference (as in ``load.py``) go through the language identifier and
the theme lexicon's matcher in this process; tracemalloc gives the bytes each kept per cached word (the
language ID's n-gram scores, the lexicon's token concepts; each cache holds at most 200,000 words).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.config import get_settings  # noqa: E402
from service.language import LanguageIdentifier  # noqa: E402
from service.themes.lexicon import load_lexicon  # noqa: E402

BASE = "Leveransen kom en dag för sent och ingen svarade i kundtjänst"


def traced(step: Callable[[list[str]], object], comments: int, rng: random.Random) -> int:
    """Bytes still allocated after ``comments`` new comments went through ``step`` 100 at a time."""

    def batch() -> list[str]:
        return [f"{BASE} (order {''.join(rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', k=6))})" for _ in range(100)]

    step(batch())  # what is built on first use is not counted
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(comments // 100):
        step(batch())
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return kept


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comments", type=int, default=20_000)
    args = ap.parse_args()
    s = get_settings()
    lid = LanguageIdentifier(languages=s.languages, min_letters=s.langid_min_letters,
                             min_confidence=s.langid_min_confidence, model_dir=s.models_dir / "langid",
                             lingua_high_accuracy=not s.langid_low_memory).fit()
    lexicon = load_lexicon(s.themes_path / "lexicon.yaml")
    rng = random.Random(0)
    kept = traced(lambda texts: lid.transform(texts, [None] * len(texts)), args.comments, rng)
    words = len(lid._charngram._word_cache)  # noqa: SLF001 - what is measured
    print(f"language ID: {kept / 2**20:.1f} MiB kept for {args.comments} comments, {words} cached words, "
          f"{kept / max(words, 1):.0f} B each")
    kept = traced(lambda texts: [lexicon.match(t, "sv") for t in texts], args.comments, rng)
    words = len(lexicon._matcher("sv")._cache)  # noqa: SLF001
    print(f"theme lexicon (sv): {kept / 2**20:.1f} MiB kept for {args.comments} comments, {words} cached tokens, "
          f"{kept / max(words, 1):.0f} B each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
