"""Classification (ETF/preferred/SPAC…), universe filters, and the 13-sector mapping table."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.data.sectors import KRX_SECTOR_INDEX, NUM_SECTORS, SECTOR_NAMES, map_sector
from lasps.data.universe import (
    classify_kind,
    history_mask,
    is_valid_code,
    parse_universe,
    static_filter,
    top_n_mask,
)
from lasps.errors import ConfigError


@pytest.mark.parametrize("code, name, kind", [
    ("005930", "삼성전자", "stock"),
    ("005935", "삼성전자우", "preferred"),
    ("005387", "현대차2우B", "preferred"),
    ("069500", "KODEX 200", "etf"),      # digits only, like a stock: the work log's ETF leak
    ("102110", "TIGER 200", "etf"),
    ("500001", "신한 레버리지 WTI원유 선물 ETN", "etn"),
    ("440790", "하나29호스팩", "spac"),
    ("330590", "롯데리츠", "reit"),
    ("0000H0", "신규형식주식", "stock"),
    ("046970", "파워로직스", "stock"),    # brand-like prefixes without a space are companies
    ("138930", "BNK금융지주", "stock"),
    ("195940", "HK이노엔", "stock"),
    ("000060", "메리츠화재", "stock"),    # 메리츠 is not 리츠
])
def test_classify_kind(code, name, kind):
    assert classify_kind(code, name) == kind


def test_security_type_wins_over_name():
    assert classify_kind("123450", "어떤이름", security_type="ETF") == "etf"


def test_code_validation():
    assert is_valid_code("005930") and is_valid_code("0000H0")
    assert not is_valid_code("5930") and not is_valid_code("0059300") and not is_valid_code(5930)


def test_sector_table_covers_all_13_ids():
    assert NUM_SECTORS == 13 and SECTOR_NAMES[10] == "운수" and SECTOR_NAMES[12] == "기타"
    assert {sid for _, sid in KRX_SECTOR_INDEX.values()} == set(range(13))


@pytest.mark.parametrize("code, name, sid", [
    ("1013", None, 0),       # 전기전자 (Samsung, SK hynix)
    ("1024", "증권", 1),      # securities → 금융업, NOT 통신 (the work log's mapping bug)
    ("1020", "통신업", 12),   # telecom → 기타, NOT 광업
    ("1046", "IT 서비스", 2),  # NAVER, Kakao were unmapped in the log
    ("1015", "운수장비", 10),
    ("1019", "운수창고업", 10),
    ("2024", "제조", 11),
    (None, "반도체 제조업", 0),
    (None, "의약품 제조업", 3),
    (None, "자동차용 엔진 및 자동차 제조업", 10),
    (None, "기타 금융업", 1),
    (None, "소프트웨어 개발 및 공급업", 2),
])
def test_map_sector(code, name, sid):
    assert map_sector(code, name) == sid


def test_unmapped_sector_is_none_not_a_default():
    assert map_sector("9999", None) is None
    assert map_sector(None, None) is None
    assert map_sector(None, "무슨업종인지모름") is None


def test_parse_universe():
    assert parse_universe("default") == ("default", None)
    assert parse_universe("top100") == ("top", 100)
    assert parse_universe("005930, 000660") == ("codes", ["005930", "000660"])
    with pytest.raises(ConfigError, match="topN"):
        parse_universe("top0")
    with pytest.raises(ConfigError):
        parse_universe("samsung")


def test_static_filter():
    kinds = np.array(["stock", "etf", "stock", "stock", "preferred"], dtype=object)
    markets = np.array(["KOSPI", "KOSPI", "KOSDAQ", "KONEX", "KOSPI"], dtype=object)
    codes = np.array(["000010", "069500", "000020", "000030", "000015"], dtype=object)
    assert static_filter(kinds, markets, codes, "default", None).tolist() == [True, False, True, False, False]
    assert static_filter(kinds, markets, codes, "kosdaq", None).tolist() == [False, False, True, False, False]
    assert static_filter(kinds, markets, codes, "all", None).all()


def test_history_mask_is_cumulative():
    close = np.array([[1.0, np.nan], [1.0, 1.0], [np.nan, 1.0], [1.0, 1.0]])
    m = history_mask(close, 2)
    assert m.tolist() == [[False, False], [True, False], [False, True], [True, True]]
    m2 = history_mask(close, 3, prior_counts=np.array([1, 0]))
    assert m2[:, 0].tolist() == [False, True, False, True]  # 1 prior + 2 here = 3 on row 1


def test_top_n_mask_uses_each_days_cap():
    cap = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [np.nan, 2.0, 1.0]])
    eligible = np.ones_like(cap, dtype=bool)
    m = top_n_mask(cap, eligible, 1)
    assert m.tolist() == [[True, False, False], [False, False, True], [False, True, False]]
