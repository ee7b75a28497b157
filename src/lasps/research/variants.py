"""Alpha variants: an alpha in one direction (DESIGN §4) — the ``_rev`` rule, written once.

``alpha_044`` buys high values; ``alpha_044_rev`` is ``-alpha_044`` (buys low values). Every alpha is
evaluated in both directions, and the pair counts as one trial (the direction is one choice).
"""

from __future__ import annotations

from collections.abc import Iterable

REV_SUFFIX = "_rev"


def split_variant(variant: str) -> tuple[str, float]:
    """``'alpha_044_rev'`` -> ``('alpha_044', -1.0)``; ``'alpha_044'`` -> ``('alpha_044', 1.0)``."""
    if variant.endswith(REV_SUFFIX):
        return variant[: -len(REV_SUFFIX)], -1.0
    return variant, 1.0


def base_alpha(variant: str) -> str:
    """The alpha a variant trades: ``'alpha_044_rev'`` -> ``'alpha_044'``."""
    return split_variant(variant)[0]


def direction(variant: str) -> int:
    """``+1`` for the alpha itself, ``-1`` for its reverse."""
    return -1 if variant.endswith(REV_SUFFIX) else 1


def variant_name(alpha: str, sign: float) -> str:
    """``('alpha_044', -1)`` -> ``'alpha_044_rev'``; a positive sign gives the alpha's own name."""
    return alpha + (REV_SUFFIX if sign < 0 else "")


def both_directions(alphas: Iterable[str]) -> tuple[str, ...]:
    """``[a, b]`` -> ``(a, a_rev, b, b_rev)``: variant ``2 i`` is alpha ``i``, ``2 i + 1`` its reverse."""
    out: list[str] = []
    for a in alphas:
        out += [a, a + REV_SUFFIX]
    return tuple(out)


__all__ = ["REV_SUFFIX", "base_alpha", "both_directions", "direction", "split_variant", "variant_name"]
