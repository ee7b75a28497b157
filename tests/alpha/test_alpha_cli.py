"""``lasps alpha …`` through the CLI on a small synthetic market: list, compute (resume, --no-industry,
--start/--end), show, add, and bad input -> exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lasps.alpha import store as alpha_store
from lasps.alpha.engine import compute
from lasps.cli.main import app

panel_loader = pytest.importorskip("lasps.data.panel_loader")

runner = CliRunner()


def invoke(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["alpha", *args], env={"LASPS_HOME": str(home), "COLUMNS": "200"})


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("alpha_cli") / "home"
    result = runner.invoke(app, ["data", "init", "--source", "synthetic", "--stocks", "60", "--years", "1.5",
                                 "--seed", "3"], env={"LASPS_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def home(market: Path, tmp_path: Path) -> Path:
    """A private copy of the market (so tests do not see each other's alpha files)."""
    import shutil

    dst = tmp_path / "home"
    shutil.copytree(market, dst)
    return dst


@pytest.mark.parametrize("cmd", [["list"], ["compute"], ["show"], ["add"]])
def test_help(cmd: list[str], tmp_path: Path) -> None:
    result = invoke(tmp_path, *cmd, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_list_shows_formulas_inputs_and_availability(home: Path) -> None:
    result = invoke(home, "list")
    assert result.exit_code == 0, result.output
    assert "Ts_ArgMax" in result.output and "index_close" in result.output
    assert "106 of 106 alphas can be computed" in result.output


def test_list_without_a_store(tmp_path: Path) -> None:
    result = invoke(tmp_path / "empty", "list")
    assert result.exit_code == 0, result.output
    assert "no market data to check availability against" in result.output
    assert invoke(tmp_path / "empty", "list", "--no-data").exit_code == 0


def test_compute_writes_parquet_equal_to_the_engine(home: Path) -> None:
    result = invoke(home, "compute", "--alphas", "1,4,44,201,205")
    assert result.exit_code == 0, result.output
    assert "5 alpha(s) written" in result.output
    panel = panel_loader.load_panel(home=home)
    expected = compute(panel, [1, 4, 44, 201, 205])
    for name in expected:
        stored = alpha_store.read_alpha(home, name, panel)
        np.testing.assert_array_equal(stored, expected[name])
        assert np.isfinite(stored).any()

    again = invoke(home, "compute", "--alphas", "1,4,44,201,205", "--resume")
    assert again.exit_code == 0, again.output
    assert "0 alpha(s) written" in again.output and "up to date" in again.output
    partly = invoke(home, "compute", "--alphas", "4,6", "--resume")
    assert "1 alpha(s) written" in partly.output and "alpha_004" in partly.output


def test_compute_no_industry_reports_unavailable(home: Path) -> None:
    result = invoke(home, "compute", "--alphas", "48,56,101", "--no-industry")
    assert result.exit_code == 0, result.output
    assert "2 alpha(s) written" in result.output
    assert "alpha_048" in result.output and "--no-industry" in result.output
    assert not alpha_store.alpha_path(home, "alpha_048").exists()
    assert alpha_store.alpha_path(home, "alpha_056").exists()


def test_compute_start_end_with_warm_up(home: Path) -> None:
    panel = panel_loader.load_panel(home=home)
    start, end = panel.dates[100], panel.dates[150]
    result = invoke(home, "compute", "--alphas", "4,101", "--start", str(start), "--end", str(end))
    assert result.exit_code == 0, result.output
    table = pq.read_table(alpha_store.alpha_path(home, "alpha_004")).to_pandas()
    dates = np.array(table["date"].to_numpy(), dtype="datetime64[D]")
    assert dates.min() == start and dates.max() == end
    # the warm-up history (9 rows for ts_rank(rank(low), 9)) makes the first written day complete
    first_day = table[dates == start]
    assert len(first_day) > 0.8 * np.isfinite(panel.field("low")[100]).sum()


def test_show_stored_and_on_the_fly(home: Path) -> None:
    assert invoke(home, "compute", "--alphas", "44").exit_code == 0
    panel = panel_loader.load_panel(home=home)
    day = str(panel.dates[-5])
    result = invoke(home, "show", "44", "--date", day, "--top", "3")
    assert result.exit_code == 0, result.output
    assert "alpha_044" in result.output and "highest 3" in result.output and "stored file" in result.output
    values = compute(panel, [44])["alpha_044"][-5]
    best = panel.codes[int(np.nanargmax(values))]
    assert str(best) in result.output
    fly = invoke(home, "show", "101", "--top", "2")
    assert fly.exit_code == 0, fly.output
    assert "computed on the fly" in fly.output


def test_add_and_compute_a_user_alpha(home: Path) -> None:
    result = invoke(home, "add", "my_rev", "-1 * delta(close, 5)", "--description", "5-day reversal")
    assert result.exit_code == 0, result.output
    assert "(-1 * delta(close, 5))" in result.output
    assert invoke(home, "compute", "--alphas", "my_rev").exit_code == 0
    assert alpha_store.alpha_path(home, "my_rev").exists()
    assert "my_rev" in invoke(home, "list", "--no-data").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compute", "--alphas", "1,999"], "unknown alpha '999'"),
        (["compute", "--alphas", ","], "names no alpha"),
        (["compute", "--alphas", "1", "--start", "2024-02-30"], "cannot parse --start date"),
        (["compute", "--alphas", "1", "--start", "2025-02-01", "--end", "2025-01-01"], "is after"),
        (["compute", "--alphas", "1", "--start", "2099-01-01"], "no stored trading dates"),
        (["show", "102"], "unknown alpha"),
        (["show", "44", "--date", "yesterday"], "cannot parse --date date"),
        (["add", "bad", "rank(close"], "column 11"),
        (["add", "Bad Name", "rank(close)"], "invalid alpha name"),
        (["add", "alpha_001", "rank(close)"], "reserved"),
        (["add", "neg", "ts_rank(close, -3)"], "positive number of rows, got -3 at column 16"),
        (["add", "zero", "delay(close, 0)"], "window of delay must be a positive number"),
        (["add", "unk", "rank(foo)"], "unknown name 'foo' at column 6"),
        (["add", "unkf", "frobnicate(close)"], "unknown function 'frobnicate' at column 1"),
        (["add", "wname", "ts_rank(close, x)"], "unknown name 'x' at column 16"),
    ],
)
def test_bad_input_exits_2(home: Path, args: list[str], message: str) -> None:
    result = invoke(home, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_bad_input_leaves_stored_alphas_and_the_catalogue_untouched(home: Path) -> None:
    """#14 Bad input: a failed add or compute writes nothing and leaves other runs' files as they were."""
    assert invoke(home, "compute", "--alphas", "101").exit_code == 0
    stored = alpha_store.alpha_path(home, "alpha_101")
    before = (stored.read_bytes(), stored.stat().st_mtime_ns)
    listing = sorted(p.name for p in stored.parent.iterdir())
    for args in (["add", "unk", "rank(foo)"], ["add", "neg", "ts_rank(close, -3)"], ["compute", "--alphas", "101,999"]):
        assert invoke(home, *args).exit_code == 2
    assert (stored.read_bytes(), stored.stat().st_mtime_ns) == before
    assert sorted(p.name for p in stored.parent.iterdir()) == listing
    assert "unk" not in invoke(home, "list", "--no-data").output.split()


def test_show_unknown_date_and_missing_store(home: Path, tmp_path: Path) -> None:
    assert invoke(home, "compute", "--alphas", "101").exit_code == 0
    result = invoke(home, "show", "101", "--date", "1999-01-04")
    assert result.exit_code == 2 and "no values on 1999-01-04" in result.output
    missing = invoke(tmp_path / "nothing", "compute", "--alphas", "1")
    assert missing.exit_code == 2 and "lasps data init" in missing.output


def test_compute_of_only_unavailable_alphas_exits_2(home: Path) -> None:
    """Issue 15: `alpha compute --alphas 48 --no-industry` wrote nothing yet exited 0 ("0 written")."""
    result = invoke(home, "compute", "--alphas", "48", "--no-industry")
    assert result.exit_code == 2, result.output
    assert "cannot be computed" in result.output and "alpha_048" in result.output
    assert "nothing written" in result.output
    assert not alpha_store.alpha_path(home, "alpha_048").exists()
