"""``--alphas`` / ``--pool`` parsing, selection periods (purged) and the row store."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.alpha.catalogue import UnknownAlphaError, get_catalogue
from lasps.backtest.alphas import RowSlice, parse_alpha_request, parse_pool, period_mask, prior_period
from lasps.errors import ConfigError

CAT = get_catalogue()


def test_parse_variants_and_ranges() -> None:
    req = parse_alpha_request("1, 44_rev,alpha_004,1", CAT)
    assert req.variants == ("alpha_001", "alpha_044_rev", "alpha_004") and not req.is_top
    assert parse_alpha_request("3-5_rev", CAT).variants == ("alpha_003_rev", "alpha_004_rev", "alpha_005_rev")
    top = parse_alpha_request("top10:2024", CAT)
    assert top.is_top and top.top_n == 10 and top.period == "2024"
    for bad in ("", "top0:train", "top5:whenever", "top5:2024-06-01..2024-01-01"):
        with pytest.raises(ConfigError):
            parse_alpha_request(bad, CAT)
    with pytest.raises(UnknownAlphaError):
        parse_alpha_request("1,999", CAT)


def test_parse_pool(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert parse_pool("1-3,44", CAT, tmp_path) == ["alpha_001", "alpha_002", "alpha_003", "alpha_044"]
    assert len(parse_pool("stored", CAT, tmp_path)) >= 101  # nothing stored: the whole built-in catalogue
    (tmp_path / "alphas").mkdir()
    (tmp_path / "alphas" / "alpha_007.parquet").write_bytes(b"")
    assert parse_pool(None, CAT, tmp_path) == ["alpha_007"]
    with pytest.raises(UnknownAlphaError):
        parse_pool("1,500", CAT, tmp_path)


def test_period_mask_is_purged() -> None:
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"],
                     dtype="datetime64[D]")
    # horizon 1, next-open entry: the IC of row t is known at row t + 2; the period ends on row 4
    m = period_mask("2024-01-03..2024-01-08", dates, horizon=1)
    assert m.tolist() == [False, True, True, False, False, False]
    assert prior_period(np.datetime64("2025-03-01")) == "2024-03-01..2025-02-28"


def test_row_slice() -> None:
    full = np.arange(20.0).reshape(10, 2)
    rs = RowSlice(np.array([2, 5, 7]), full[[2, 5, 7]], 10)
    np.testing.assert_array_equal(rs[np.array([5, 7])], full[[5, 7]])
    assert rs.shape == (10, 2)
    with pytest.raises(KeyError):
        rs[np.array([3])]
