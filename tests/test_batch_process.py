"""Batch scoring is the encoder's only caller: its pipeline does not coalesce (issue #11: throughput)."""

from __future__ import annotations

from pathlib import Path

from batch_helpers import sample_frame, write_frame
from service.batch.cli import run_score
from service.cli import build_parser
from service.config import Settings, batch_process_settings
from service.pipeline import AnalysisPipeline


def test_batch_process_settings_turn_coalescing_off_and_nothing_else():
    server = Settings()
    batch = batch_process_settings(server)
    assert server.inference_coalesce_texts > 0 and batch.inference_coalesce_texts == 0
    assert batch.model_dump(exclude={"inference_coalesce_texts"}) == server.model_dump(exclude={"inference_coalesce_texts"})


def test_touchpoints_score_builds_its_pipeline_without_coalescing(tmp_path: Path, client, settings, monkeypatch):
    built: list[Settings] = []

    def capture(cls: type, s: Settings) -> AnalysisPipeline:
        built.append(s)
        return client.app.state.pipeline  # the loaded one: only the settings it was asked for are checked

    monkeypatch.setattr(AnalysisPipeline, "from_settings", classmethod(capture))
    src = write_frame(sample_frame(n_good=4), tmp_path / "survey.csv")
    args = build_parser().parse_args(["score", str(src), "-o", str(tmp_path / "out.csv"), "--no-progress", "--no-report"])
    assert settings.inference_coalesce_texts > 0
    assert run_score(args, settings=settings) == 0
    assert [s.inference_coalesce_texts for s in built] == [0]
