"""The promotion gate: a new model version becomes `champion` only when it has earned it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Decision:
    alias: str  # "champion" or "challenger"
    reason: str


def decide(
    candidate_pr_auc: float,
    *,
    champion_pr_auc: float | None,
    rules_pr_auc: float | None,
    margin: float,
) -> Decision:
    """Beat the current champion by `margin` on the same evaluation data; a first model must beat
    the rules-only baseline instead (strictly, with no margin)."""
    if champion_pr_auc is None:
        # No margin here: a first model only has to do better than the hand rules.
        if rules_pr_auc is None:
            return Decision(
                "champion", f"first model: PR-AUC {candidate_pr_auc:.4f}, no rules baseline to beat"
            )
        if candidate_pr_auc > rules_pr_auc:
            return Decision(
                "champion",
                f"first model: PR-AUC {candidate_pr_auc:.4f} beats the rules baseline's {rules_pr_auc:.4f}",
            )
        return Decision(
            "challenger",
            f"first model does not beat the rules baseline: {candidate_pr_auc:.4f} <= {rules_pr_auc:.4f}",
        )
    if candidate_pr_auc > champion_pr_auc + margin:
        return Decision(
            "champion",
            f"PR-AUC {candidate_pr_auc:.4f} beats the champion's {champion_pr_auc:.4f} by more than {margin}",
        )
    return Decision(
        "challenger",
        f"PR-AUC {candidate_pr_auc:.4f} does not beat the champion's {champion_pr_auc:.4f} by {margin}",
    )


def training_due(day: date, last_trained: date | None, has_champion: bool, every_days: int) -> bool:
    """Train when no champion exists (nothing scores without one), when no training is on record,
    or when `every_days` have passed since the last one (the schedule of the nightly orchestrator).
    """
    return (
        not has_champion or last_trained is None or day - last_trained >= timedelta(days=every_days)
    )
