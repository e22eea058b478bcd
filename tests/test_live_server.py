"""The installed ``touchpoints serve`` command serves the API on a loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_answers_on_loopback(tmp_path):
    port = _free_port()
    env = {**os.environ, "TOUCHPOINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start within 120 s"
                time.sleep(0.5)
        req = urllib.request.Request(
            f"{base}/v1/comments/analyze",
            data=json.dumps({"comments": [{"id": "1", "text": "Tack för snabb leverans!"}]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            body = json.loads(r.read())
        assert body["results"][0]["language"]["code"] == "sv"
        assert r.headers["x-request-id"] == body["request_id"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
