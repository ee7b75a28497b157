"""The catalogue's 101 formulas equal a second, independent transcription of the paper's Appendix A.

``conventions/alpha101_paper_formulas.tsv`` (``id<TAB>formula``, read-only, outside the repository) was
transcribed separately from Kakushadze (2016), arXiv:1601.00991, Appendix A. Each of its formulas is
parsed and its canonical AST compared with the catalogue's, so a changed window, operand or sign in
either transcription fails here (e.g. alpha 2's window 6 -> 7, which the engine tests cannot see:
they read the catalogue string too). Where the two ever differ, the paper decides; a TSV error is
recorded in :data:`TSV_ERRATA` with the reason (the TSV itself is never edited).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lasps.alpha.catalogue import get_catalogue
from lasps.alpha.parser import parse

TSV_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "conventions" / "alpha101_paper_formulas.tsv"

TSV_ERRATA: dict[int, str] = {}
"""Alpha id -> why the TSV's formula is wrong against the paper (none found: all 101 agree)."""


def _tsv() -> dict[int, str]:
    if not TSV_PATH.is_file():
        return {}
    rows = {}
    for line in TSV_PATH.read_text(encoding="utf-8").splitlines():
        if line.strip():
            alpha_id, formula = line.split("\t", 1)
            rows[int(alpha_id)] = formula.strip()
    return rows


PAPER = _tsv()
needs_tsv = pytest.mark.skipif(not PAPER, reason=f"{TSV_PATH} not found")


@needs_tsv
def test_tsv_has_the_101_paper_alphas() -> None:
    assert sorted(PAPER) == list(range(1, 102))


@needs_tsv
@pytest.mark.parametrize("alpha_id", range(1, 102))
def test_catalogue_formula_equals_the_paper_transcription(alpha_id: int) -> None:
    if alpha_id in TSV_ERRATA:
        pytest.skip(f"TSV wrong against the paper: {TSV_ERRATA[alpha_id]}")
    spec = get_catalogue().resolve(alpha_id)
    paper = parse(PAPER[alpha_id])
    assert spec.ast == paper, (
        f"alpha {alpha_id}: catalogue and paper transcription differ\n  catalogue: {spec.ast}\n  paper TSV: {paper}"
    )


@needs_tsv
def test_the_comparison_sees_a_one_number_change() -> None:
    # the issue's example: alpha 2's correlation window 6 -> 7 must not compare equal
    changed = PAPER[2].replace("), 6))", "), 7))")
    assert changed != PAPER[2]
    assert parse(changed) != get_catalogue().resolve(2).ast
    # and capitalisation / redundant parentheses / "2." vs "2" do not matter (canonical ASTs)
    assert parse("Ts_Rank(((close)), 2.)") == parse("ts_rank(close, 2)")
