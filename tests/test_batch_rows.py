"""Bad rows are reported one by one (never dropped, never fatal); column mapping options work."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from service.batch.cli import run_score
from service.cli import build_parser
from batch_helpers import read_frame


@pytest.fixture(scope="module")
def pipeline(client):
    return client.app.state.pipeline


def score(pipeline, settings, *argv: str) -> int:
    return run_score(build_parser().parse_args(["score", *argv, "--no-progress"]), pipeline=pipeline,
                     settings=settings)


def test_bad_rows_reported_per_row(tmp_path: Path, pipeline, settings, capsys):
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"id,text\n"
        b"1,Leveransen kom i tid\n"
        b"2,\n"
        b"3,bad bytes \xff\xfe here\n"
        b'4,"ok, quoted",surplus\n'
        b"5,ctrl \x07 char\n"
        b"6,The delivery was late\n"
    )
    out = tmp_path / "out.csv"
    errors = tmp_path / "errors.csv"
    assert score(pipeline, settings, str(src), "-o", str(out), "--errors-out", str(errors)) == 0
    got = read_frame(out)
    assert list(got["id"]) == ["1", "2", "3", "4", "5", "6"]
    status = dict(zip(got["id"], got["tp_status"]))
    assert status == {"1": "ok", "2": "error", "3": "error", "4": "error", "5": "error", "6": "ok"}
    reasons = dict(zip(got["id"], got["tp_error"]))
    assert "empty" in reasons["2"]
    assert "UTF-8" in reasons["3"]
    assert "3 fields" in reasons["4"]
    assert "U+0007" in reasons["5"]
    assert "\ufffd" in got.loc[got["id"] == "3", "text"].item()  # undecodable bytes shown, output stays UTF-8
    with open(errors, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["row"] for r in rows] == ["2", "3", "4", "5"]
    assert "rejected row 2" in capsys.readouterr().err


def test_jsonl_invalid_lines_reported(tmp_path: Path, pipeline, settings):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "Bra service"}\n{not json}\n[1, 2]\n\n{"id": "d", "text": null}\n',
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    got = read_frame(out)
    assert list(got["tp_status"]) == ["ok", "error", "error", "error"]
    assert "invalid JSON" in got["tp_error"][1] and "expected a JSON object" in got["tp_error"][2]
    assert "null" in got["tp_error"][3]


def test_column_mapping(tmp_path: Path, pipeline, settings):
    df = pd.DataFrame({
        "RespondentID": ["r1", "r2", "r3"],
        "Kommentar text": ["Bra", "Hurtig levering og god service", "Kiitos nopeasta toimituksesta"],
        "Lang": ["sv", "", "fi"],
        "NPS": ["9", "not a number", "10"],
    })
    src = tmp_path / "in.tsv"
    df.to_csv(src, sep="\t", index=False)
    out = tmp_path / "out.csv"
    rc = score(pipeline, settings, str(src), "-o", str(out), "--id-col", "RespondentID",
               "--text-col", "Kommentar text", "--language-col", "lang", "--meta", "score=NPS")
    assert rc == 0
    got = read_frame(out).set_index("RespondentID")
    assert got.loc["r1", "tp_language"] == "sv"  # 'Bra' alone is ambiguous: the hint decides
    assert got.loc["r3", "tp_language"] == "fi"
    assert got.loc["r2", "tp_status"] == "error" and "score" in got.loc["r2", "tp_error"]  # bad metadata, per row


def test_missing_text_column_is_a_clear_usage_error(tmp_path: Path, pipeline, settings, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,hello\n", encoding="utf-8")
    assert score(pipeline, settings, str(src), "-o", str(tmp_path / "o.csv")) == 2
    assert "no text column" in capsys.readouterr().err
    assert score(pipeline, settings, str(src), "-o", str(tmp_path / "o.csv"), "--text-col", "nope") == 2
    assert score(pipeline, settings, str(src), "-o", str(tmp_path / "o.xls")) == 2


def test_legacy_encoding(tmp_path: Path, pipeline, settings, capsys):
    src = tmp_path / "excel_export.csv"
    src.write_bytes("id,text\n1,Väldigt trevlig personal och snabb leverans\n2,Bra\n".encode("cp1252"))
    out = tmp_path / "out.csv"
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    got = read_frame(out)
    assert list(got["tp_status"]) == ["error", "ok"]  # the å/ä bytes are not UTF-8: reported, not guessed
    assert "--encoding cp1252" in capsys.readouterr().err
    assert score(pipeline, settings, str(src), "-o", str(out), "--encoding", "cp1252") == 0
    got = read_frame(out)
    assert list(got["tp_status"]) == ["ok", "ok"] and got["text"][0].startswith("Väldigt")
    assert score(pipeline, settings, str(src), "-o", str(out), "--encoding", "klingon") == 2
