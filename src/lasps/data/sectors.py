"""The 13 LASPS sectors and the tables that map KRX sector codes / KSIC industry names onto them.

The deep-learning track groups stocks into 13 sectors (work log 2026-02-13). Mapping is a data table,
tested; a code with no mapping is **reported** (``None`` here, ``-1`` in a Panel, a row in the
``unmapped_sectors`` table) and never dumped into a default id — the work log's
``DEFAULT_SECTOR_ID = 17`` put a third of the market into one sector, and a wrong table mapped 증권
(securities) to 통신 (telecom).

``IndNeutralize`` in the alpha engine does **not** use these 13 merged sectors; it uses the
fine-grained ``stocks.sector_code`` (DESIGN §3.2).
"""

from __future__ import annotations

import re

SECTOR_NAMES: tuple[str, ...] = (
    "전기전자",  # 0
    "금융업",  # 1
    "서비스업",  # 2
    "의약품",  # 3
    "유통업",  # 4
    "철강금속",  # 5
    "기계",  # 6
    "화학",  # 7
    "건설업",  # 8
    "음식료품",  # 9
    "운수",  # 10  운수장비 + 운수창고
    "제조업",  # 11 KOSDAQ 제조 etc.
    "기타",  # 12 섬유, 비금속, 종이, 통신, 전기가스, …
)
NUM_SECTORS = len(SECTOR_NAMES)

#: KRX sector index code -> (index name, LASPS sector id). KOSPI indices are 10xx, KOSDAQ 20xx.
KRX_SECTOR_INDEX: dict[str, tuple[str, int]] = {
    "1005": ("음식료품", 9),
    "1006": ("섬유의복", 12),
    "1007": ("종이목재", 12),
    "1008": ("화학", 7),
    "1009": ("의약품", 3),
    "1010": ("비금속광물", 12),
    "1011": ("철강금속", 5),
    "1012": ("기계", 6),
    "1013": ("전기전자", 0),
    "1014": ("의료정밀", 12),
    "1015": ("운수장비", 10),
    "1016": ("유통업", 4),
    "1017": ("전기가스업", 12),
    "1018": ("건설업", 8),
    "1019": ("운수창고업", 10),
    "1020": ("통신업", 12),
    "1021": ("금융업", 1),
    "1022": ("은행", 1),
    "1024": ("증권", 1),
    "1025": ("보험", 1),
    "1026": ("서비스업", 2),
    "1027": ("제조업", 11),
    "1045": ("부동산", 1),
    "1046": ("IT 서비스", 2),
    "1047": ("오락·문화", 2),
    "2012": ("일반서비스", 2),
    "2015": ("제조", 11),
    "2024": ("제조", 11),
    "2026": ("건설", 8),
    "2027": ("유통", 4),
    "2029": ("운송·창고", 10),
    "2031": ("금융", 1),
    "2037": ("오락·문화", 2),
    "2056": ("음식료·담배", 9),
    "2058": ("섬유·의류", 12),
    "2062": ("종이·목재", 12),
    "2063": ("출판·매체복제", 2),
    "2065": ("화학", 7),
    "2066": ("제약", 3),
    "2067": ("비금속", 12),
    "2068": ("금속", 5),
    "2070": ("기계·장비", 6),
    "2072": ("전기·전자", 0),
    "2074": ("의료·정밀기기", 12),
    "2075": ("운송장비·부품", 10),
    "2077": ("기타 제조", 11),
    "2151": ("통신", 12),
    "2152": ("IT 서비스", 2),
    "2153": ("부동산", 1),
}

#: KSIC industry-name keywords -> LASPS sector id, first match wins (order matters: specific first).
#: Used when a source gives a KSIC industry label instead of a KRX sector index code.
KSIC_KEYWORD_RULES: tuple[tuple[str, int], ...] = (
    (r"의약|제약|의료용 물질|생물학적|바이오", 3),
    (r"반도체|전자부품|컴퓨터|통신 및 방송 장비|영상 및 음향|전기장비|전동기|발전기|절연선|전구|조명|배터리|축전지|일차전지", 0),
    (r"은행|보험|증권|금융|신탁|투자|여신|지주회사|부동산", 1),
    (r"1차 철강|철강|금속|주조|제철|비철", 5),
    (r"자동차|트레일러|선박|항공기|철도|운송장비|운송업|운수|창고|해운|항공 운송|육상 운송|수상 운송|택배|물류", 10),
    (r"기계|장비 제조|엔진|터빈|펌프|베어링|기어|냉각|공구", 6),
    (r"화학|화합물|합성고무|플라스틱|고무|비료|농약|도료|세제|화장품|정유|석유", 7),
    (r"건설|건물|토목|시설물|전문직별 공사|실내건축", 8),
    (r"식품|식료품|음료|담배|제분|도축|수산물 가공|낙농|사료|제과", 9),
    (r"도매|소매|상품 중개|유통", 4),
    (r"섬유|의복|의류|가죽|신발|종이|펄프|목재|나무|비금속|유리|시멘트|요업|전기.*가스|가스|증기|통신업|전기통신|광업|농업|어업|임업|가구", 12),
    (r"소프트웨어|정보서비스|컴퓨터 프로그래밍|출판|방송|영화|광고|교육|서비스|연구개발|오락|스포츠|여행|숙박|음식점|인쇄|엔지니어링|게임|포털|디자인|사업지원|전문", 2),
    (r"제조", 11),
)

_COMPILED_RULES = tuple((re.compile(pattern), sid) for pattern, sid in KSIC_KEYWORD_RULES)


def map_sector(sector_code: str | None, sector_name: str | None) -> int | None:
    """LASPS sector id (0..12) for a KRX sector index code or, failing that, a KSIC industry name.

    Returns ``None`` when neither maps — the caller must report it, never default it.

    >>> map_sector("1013", None), map_sector("1024", "증권"), map_sector(None, "반도체 제조업")
    (0, 1, 0)
    """
    if sector_code is not None and str(sector_code) in KRX_SECTOR_INDEX:
        return KRX_SECTOR_INDEX[str(sector_code)][1]
    if sector_name:
        for pattern, sid in _COMPILED_RULES:
            if pattern.search(sector_name):
                return sid
    return None
