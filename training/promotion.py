"""The promotion gate: a new model version becomes `champion` only when it has earned it.

It decides on the population of the evaluation night (training.population): the share of the
confirmed listings that a model ranks in the top share of *everything* it would score, not how
well it separates confirmed from rejected notices (a slice of the catalog the brands chose). And
"better" means better beyond the noise: a paired bootstrap interval of the gain must clear zero,
and there must be enough confirmed listings to judge at all.

The same standard picks the candidate that goes through the gate (`choose_candidate`): the default
candidate (a conf key: the monotone trees) unless another one beats it beyond the noise. Picked by
point estimate, the choice was as noisy as the evidence: on a held-out world whose evaluation night
held 2 confirmed listings, three candidates tied at 1 of 2 and the tie went to the one that ranked
the catalog worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from training.population import Difference


@dataclass(frozen=True)
class Choice:
    candidate: str
    reason: str


def choose_candidate(
    *,
    default: str | None,
    point_estimates: dict[str, tuple[float, ...]],
    versus_default: dict[str, Difference],
    positives: int,
    min_positives: int,
    margin: float,
) -> Choice:
    """The candidate that goes through the gate.

    `point_estimates` holds every candidate's (top-share recall, PU PR-AUC) on the evaluation
    population, in the order of preference among equals; `versus_default` each other candidate's
    paired gain in top-share recall over `default`. Another candidate replaces the default only with at least `min_positives` confirmed
    listings, a gain of at least `margin` and an interval above zero; among several, the largest
    gain. With no default (null) the best point estimate is taken, the first of equals: the old
    choice, kept for comparison.
    """
    if default is None:
        best = max(point_estimates, key=lambda name: point_estimates[name])  # first of equals
        figures = ", ".join(f"{value:.4f}" for value in point_estimates[best])
        return Choice(best, f"best point estimate (top-share recall, PU PR-AUC): {figures}")
    if default not in point_estimates:
        raise ValueError(
            f"training.default_candidate {default!r} is not one of {sorted(point_estimates)}"
        )
    if positives < min_positives:
        return Choice(
            default,
            f"default: {positives} confirmed listings are too few to prefer another candidate",
        )
    beating = {
        name: gain
        for name, gain in versus_default.items()
        if name != default and gain.estimate >= margin and gain.low > 0
    }
    if not beating:
        return Choice(default, "default: no candidate beats it beyond the noise")
    best = max(beating, key=lambda name: beating[name].estimate)
    return Choice(best, f"beats the default {default} beyond the noise: {beating[best].describe()}")


@dataclass(frozen=True)
class Decision:
    alias: str  # "champion" or "challenger"
    reason: str


def decide(
    *,
    positives: int,
    min_positives: int,
    versus_champion: Difference | None,
    versus_rules: Difference | None,
    margin: float,
) -> Decision:
    """The alias of a candidate, from its gains in top-share recall on the evaluation population.

    - fewer than `min_positives` confirmed listings to judge on: challenger, whatever the figures
      (a gate promoted a champion on 10 positives once; that is no evidence);
    - no champion yet: the candidate goes on unless the rules-only baseline beats it beyond the
      noise (its gain's interval lies below zero). Nothing scores until a first champion exists,
      so the question is whether the model is shown to be worse than the rules, not whether a few
      dozen listings happen to favour it: asked by point estimate, a model the rules tied within
      the noise (-0.071, 28 confirmed listings) left a world with nothing scored;
    - otherwise the gain over the champion must be at least `margin` and its bootstrap interval
      must lie above zero.
    """
    if positives < min_positives:
        return Decision(
            "challenger",
            f"too little evidence: {positives} confirmed listings on the evaluation night, "
            f"fewer than training.min_eval_positives = {min_positives}",
        )
    if versus_champion is None:
        if versus_rules is None:
            return Decision("champion", "first model: no rules baseline to beat")
        if versus_rules.high >= 0:
            return Decision(
                "champion",
                f"first model, not worse than the rules baseline beyond the noise: top-share "
                f"recall gain {versus_rules.describe()}",
            )
        return Decision(
            "challenger",
            f"first model is worse than the rules baseline beyond the noise: gain "
            f"{versus_rules.describe()}",
        )
    if versus_champion.estimate >= margin and versus_champion.low > 0:
        return Decision(
            "champion",
            f"beats the champion beyond the noise: top-share recall gain {versus_champion.describe()}",
        )
    return Decision(
        "challenger",
        f"not better than the champion beyond the noise (margin {margin}): top-share recall gain "
        f"{versus_champion.describe()}",
    )


def training_due(day: date, last_trained: date | None, has_champion: bool, every_days: int) -> bool:
    """Train when no champion exists (nothing scores without one), when no training is on record,
    or when `every_days` have passed since the last one (the schedule of the nightly orchestrator).
    """
    return (
        not has_champion or last_trained is None or day - last_trained >= timedelta(days=every_days)
    )
