"""Every convention choice of the operator layer, in one immutable object (DESIGN.md §3.2).

The defaults are the LASPS contract (the paper's rules where the paper is explicit). The alternatives
exist so that other modes can reproduce what peer implementations do, for cross-checks; they are never
picked silently. Pass a :class:`Conventions` to every operator (keyword ``conv``) and to the engine.

What the peers do (as far as their code shows; re-check before quoting numbers):

* window rule: the paper (Appendix A) converts a non-integer number of days d to floor(d); most
  open-source Alpha101 ports round to the nearest integer instead (e.g. the ``round_a_i`` wrappers
  of wukan1986/ta_cn), typically with Python's ``round`` (half to even).
* zero-variance correlation: pandas ``rolling.corr`` and numpy give NaN (or ±inf) on a constant window;
  LASPS gives 0 so that chains such as alpha 96 are not NaN on nearly every date.
* adv units: the paper says "average daily dollar volume"; ports built on share volume compare it with
  volume and divide volume by it (alphas 7, 17, 21, 39, 43), which only share units make meaningful.
* rank ties: pandas ``rank(pct=True)`` (what pandas-based ports use) averages ties, as LASPS does,
  but with plain float equality: two values that differ in the last bits (float noise of a windowed
  sum, a correlation of two rows that is mathematically 1) are not tied there. LASPS ties values
  within :data:`TIE_ATOL` + :data:`TIE_RTOL` times the larger magnitude (``ties="tolerant"``);
  ``ties="exact"`` reproduces the peers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT", "PEERS", "TIE_ATOL", "TIE_RTOL", "Conventions"]

TIE_ATOL = 1e-12
"""Absolute part of the tie tolerance of ``rank``, ``ts_rank``, ``ts_argmax``, ``ts_argmin``."""
TIE_RTOL = 1e-9
"""Relative part: a and b tie when ``|a - b| <= TIE_ATOL + TIE_RTOL * max(|a|, |b|)``."""


@dataclass(frozen=True, slots=True)
class Conventions:
    """Convention choices of the operator layer.

    Attributes
    ----------
    window_rule:
        How a (possibly fractional) window ``d`` becomes an integer row count, for every windowed
        operator *and* for ``delay``/``delta``. ``"floor"`` (default, the paper's rule: 6.00049 -> 6,
        3.69741 -> 3) or ``"round"`` (most peers: Python ``round``, half to even, 6.9 -> 7). Either way
        a result below 1 becomes 1.
    zero_variance_corr:
        ``correlation`` on a complete window where either input has (population) variance
        ``<= 1e-12 * mean(x**2)`` of that input: ``"zero"`` (default) gives 0, ``"nan"`` gives NaN
        (what pandas/numpy-based peers produce, modulo their ±inf).
    adv_units:
        ``adv{d}`` is the mean of daily ``"shares"`` traded (default; what the formulas need) or of
        traded ``"value"`` in KRW (the paper's literal "dollar volume"). Consumed by the engine.
    rank_ties:
        Tie rule of ``rank`` and ``ts_rank``: ``"average"`` (default, pandas' default), ``"min"``,
        ``"max"`` or ``"first"`` (cross-sectional: order of the columns; ``ts_rank``: order in time,
        where today's value is the latest of its ties, so ``"first"`` equals ``"max"`` there).
    ties:
        When two values count as tied for ``rank``, ``ts_rank``, ``ts_argmax`` and ``ts_argmin``
        (DESIGN §3.2, "Ties"). ``"tolerant"`` (default): a and b tie when
        ``|a - b| <= 1e-12 + 1e-9 * max(|a|, |b|)``; walking the values in sorted order, a value joins
        the current group of ties when it is within that tolerance of the group's smallest member
        (the anchor), else it starts a new group. ``"exact"``: plain float equality (the peers).
        ``rank_ties`` then says which rank a group's members get.
    rank_scale:
        How ``rank`` and ``ts_rank`` turn a 1-based rank ``k`` among ``n`` values into a number:
        ``"one_over_n"`` (default, the paper's "percentile": ``k / n`` in (0, 1]) or ``"zero_to_one"``
        (``(k - 1) / (n - 1)`` in [0, 1], NaN when ``n = 1``; WorldQuant BRAIN's rule, alpha101v's
        default).
    arg_basis:
        What ``ts_argmax``/``ts_argmin`` count: ``"window_start"`` (default: 1 = oldest row, d =
        today) or ``"days_ago"`` (0 = today, d - 1 = oldest; BRAIN's rule, alpha101v's default).
    ddof:
        Delta degrees of freedom of ``stddev`` and ``covariance``: 1 (default, sample) or 0
        (population; alpha101v's default).
    decay_nan:
        A NaN inside a ``decay_linear`` window: ``"nan"`` (default: the result is NaN) or ``"zero"``
        (the NaN counts as 0 against the full weight sum, NaN only when the window has no value at
        all; alpha101v's "sparse" default).
    minmax_nan:
        Elementwise ``min(x, y)``/``max(x, y)`` with one side NaN: ``"propagate"`` (default: NaN) or
        ``"skip"`` (the other side, ``np.fmin``/``np.fmax``; alpha101v).
    power_negative:
        ``x ^ y`` for ``x < 0`` and a non-integer ``y``: ``"nan"`` (default, no real result) or
        ``"abs"`` (``|x| ^ y``, BRAIN's "power drops the sign"; alpha101v).
    or_nan:
        ``a || b`` with an operand NaN: ``"propagate"`` (default: NaN) or ``"kleene"`` (1 when the
        other side is true, else NaN; alpha101v).
    """

    window_rule: Literal["floor", "round"] = "floor"
    zero_variance_corr: Literal["zero", "nan"] = "zero"
    adv_units: Literal["shares", "value"] = "shares"
    rank_ties: Literal["average", "min", "max", "first"] = "average"
    ties: Literal["tolerant", "exact"] = "tolerant"
    rank_scale: Literal["one_over_n", "zero_to_one"] = "one_over_n"
    arg_basis: Literal["window_start", "days_ago"] = "window_start"
    ddof: Literal[1, 0] = 1
    decay_nan: Literal["nan", "zero"] = "nan"
    minmax_nan: Literal["propagate", "skip"] = "propagate"
    power_negative: Literal["nan", "abs"] = "nan"
    or_nan: Literal["propagate", "kleene"] = "propagate"

    def __post_init__(self) -> None:
        allowed = {
            "window_rule": ("floor", "round"),
            "zero_variance_corr": ("zero", "nan"),
            "adv_units": ("shares", "value"),
            "rank_ties": ("average", "min", "max", "first"),
            "ties": ("tolerant", "exact"),
            "rank_scale": ("one_over_n", "zero_to_one"),
            "arg_basis": ("window_start", "days_ago"),
            "ddof": (1, 0),
            "decay_nan": ("nan", "zero"),
            "minmax_nan": ("propagate", "skip"),
            "power_negative": ("nan", "abs"),
            "or_nan": ("propagate", "kleene"),
        }
        for name, options in allowed.items():
            value = getattr(self, name)
            if value not in options:
                raise ValueError(f"Conventions.{name}={value!r} is not one of {options}")

    @property
    def tie_tolerance(self) -> tuple[float, float]:
        """``(atol, rtol)`` of the tie rule: ``(TIE_ATOL, TIE_RTOL)``, or ``(0, 0)`` for ``"exact"``."""
        return (TIE_ATOL, TIE_RTOL) if self.ties == "tolerant" else (0.0, 0.0)

    def window(self, d: float) -> int:
        """Integer window (row count >= 1) for a formula's window argument ``d``.

        ``floor``: ``floor(d)``; ``round``: ``round(d)`` (half to even, like the peers). Values below
        1 become 1. A non-finite ``d`` raises ``ValueError``.
        """
        value = float(d)
        if not math.isfinite(value):
            raise ValueError(f"window {d!r} is not a finite number")
        n = math.floor(value) if self.window_rule == "floor" else round(value)
        return max(1, int(n))


DEFAULT = Conventions()
"""The LASPS contract: floor windows, zero-variance correlation 0, adv in shares, average tolerant ties."""

PEERS: dict[str, Conventions] = {
    "alpha101v": Conventions(
        window_rule="floor", zero_variance_corr="nan", adv_units="value", ties="exact",
        rank_scale="zero_to_one", arg_basis="days_ago", ddof=0, decay_nan="zero", minmax_nan="skip",
        power_negative="abs", or_nan="kleene",
    ),
}
"""Peer name -> the conventions that reproduce it (for cross-checks only; see ``docs/alpha.md``).

``alpha101v`` (0.1.x, read from its ``operators.py``): paper floor windows; pandas ``rolling.corr``
gives NaN on a zero-variance window; ``adv{d} = sma(amount, d)`` with ``amount`` the traded value;
plain float ties (pandas/scipy ``rank``, ``==`` in ``ts_rank``/``ts_argmax``); BRAIN-style
``(k - 1) / (n - 1)`` ranks, days-ago arg positions, population ``stddev``/``covariance`` and
"sparse" ``decay_linear``, NaN-skipping ``min``/``max``, sign-dropping ``^``, Kleene ``||``. What
these modes do not reproduce (its float noise, ±inf inside a formula) is listed in ``docs/alpha.md``.
"""
