"""The promotion gate: a new model version becomes `champion` only when it has earned it.

It decides on the population of the evaluation night (training.population): the share of the
confirmed listings that a model ranks in the top share of *everything* it would score, not how
well it separates confirmed from rejected notices (a slice of the catalog the brands chose). And
"better" means better beyond the noise: a paired bootstrap interval of the gain must clear zero,
and there must be enough confirmed listings to judge at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from training.population import Difference


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
    - no champion yet: the candidate must do better than the rules-only baseline (point estimate:
      nothing is scored until a first champion exists, and the rules are a low bar);
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
        if versus_rules.estimate > 0:
            return Decision(
                "champion",
                f"first model: top-share recall gain over the rules baseline {versus_rules.describe()}",
            )
        return Decision(
            "challenger",
            f"first model does not beat the rules baseline: gain {versus_rules.describe()}",
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
