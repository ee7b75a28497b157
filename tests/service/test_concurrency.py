"""The service keeps answering while another process holds the DuckDB write lock and rewrites files."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from lasps.service.app import create_app
from tests.pipeline.fixtures import copy_home

WRITER = r"""
import json, sys, time
from pathlib import Path
from lasps.data.store import MarketStore
from lasps.files import write_json

home, seconds = Path(sys.argv[1]), float(sys.argv[2])
picks = home / "pipeline" / "2026-10-30" / "picks.json"
doc = json.loads(picks.read_text())
with MarketStore(home) as store:  # the write lock, held the whole time (like `lasps data update`)
    print("locked", flush=True)
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        with store.transaction() as con:
            con.execute("CREATE TABLE IF NOT EXISTS _writer_probe (i INTEGER)")
            con.execute("INSERT INTO _writer_probe VALUES (?)", [i])
        doc["writer_round"] = i
        write_json(picks, doc)  # the pipeline's atomic file write
        i += 1
        time.sleep(0.005)
print("done", i, flush=True)
"""


def test_service_answers_while_a_writer_holds_the_store(service_home: Path, tmp_path: Path) -> None:
    home = copy_home(service_home, tmp_path / "home")
    client = TestClient(create_app(home))
    assert client.get("/health").json()["store"]["status"] == "ok"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(home), "2.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"
        statuses: set[str] = set()
        rounds: set[int] = set()
        slowest = 0.0
        end = time.monotonic() + 1.8  # longer than the health check's 1 s cache
        while time.monotonic() < end:
            for url in ("/health", "/api/picks/latest", "/api/rankings", "/api/reports", "/api/backtests", "/",
                        "/picks", "/reports/2026-10-30_alpha.html"):
                t0 = time.monotonic()
                resp = client.get(url)
                slowest = max(slowest, time.monotonic() - t0)
                assert resp.status_code == 200, (url, resp.text[:300])
                if url == "/health":
                    statuses.add(resp.json()["store"]["status"])
                if url == "/api/picks/latest":
                    body = resp.json()  # never a torn file
                    assert len(body["picks"]) == 5
                    rounds.add(body.get("writer_round", -1))
        assert "busy" in statuses, statuses  # DuckDB: one writer or many readers — reported, not waited for
        assert len(rounds) > 1  # the file really changed under the reader
        assert slowest < 2.0, slowest
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == 0
    time.sleep(1.1)
    assert client.get("/health").json()["store"]["status"] == "ok"  # back once the writer is gone
