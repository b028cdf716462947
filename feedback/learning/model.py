"""The sparse, explainable model: scikit-learn's L1 logistic regression chooses at most `cap` rules from the
candidates, a plain logistic regression refits the chosen ones, and each weight becomes points on one fixed scale.

The scale never depends on the agreement's current points (rescaling by their median made every accepted raise
come back as "lower" the next month): 10 points double a lead's odds of converting, whatever the agreement says.
The L1 strength C is chosen by cross-validation on the training leads only, scoring each fold with the rounded
points a user would sign, so what is measured is what would be signed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

POINTS_PER_DOUBLING = 10  # +10 points = twice the odds of converting
SCALE = POINTS_PER_DOUBLING / math.log(2)
C_GRID = tuple(float(c) for c in np.logspace(-2.5, 0.0, 6))
FOLDS = 3
DEFAULT_CAP = 15


@dataclass(frozen=True)
class Fitted:
    columns: tuple[int, ...]  # the chosen candidates (columns of X)
    points: tuple[int, ...]
    strength: float  # the L1 C chosen
    cv_auc: float | None  # mean AUC of the rounded points on the held-back folds

    def scores(self, x: np.ndarray) -> np.ndarray:
        if not self.columns:
            return np.zeros(x.shape[0])
        return x[:, list(self.columns)] @ np.array(self.points, dtype=float)


def auc_of(scores: np.ndarray, won: np.ndarray) -> float | None:
    if won.size == 0 or won.min() == won.max():
        return None
    return float(roc_auc_score(won, scores))


def to_points(weights: np.ndarray) -> np.ndarray:
    return np.rint(weights * SCALE).astype(int)


def _select(x: np.ndarray, y: np.ndarray, strength: float, cap: int) -> list[int]:
    l1 = LogisticRegression(l1_ratio=1.0, solver="liblinear", C=strength, intercept_scaling=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        l1.fit(x, y)
    weights = l1.coef_[0]
    chosen = np.flatnonzero(np.abs(weights) > 1e-6)
    if chosen.size > cap:
        chosen = chosen[np.argsort(-np.abs(weights[chosen]))[:cap]]
    return sorted(chosen.tolist())


def _refit(x: np.ndarray, y: np.ndarray, columns: list[int], cap: int) -> tuple[list[int], list[int]]:
    """A lightly regularised logistic regression on the chosen rules only, rounded to points; rules whose points
    round to zero are dropped and the rest refitted, so every signed rule carries weight."""
    while columns:
        model = LogisticRegression(C=10.0, max_iter=1000)
        model.fit(x[:, columns], y)
        points = to_points(model.coef_[0])
        keep = [c for c, p in zip(columns, points, strict=True) if p != 0]
        if len(keep) == len(columns):
            return columns[:cap], points.tolist()[:cap]
        columns = keep
    return [], []


def choose_strength(
    x: np.ndarray, y: np.ndarray, *, cap: int = DEFAULT_CAP, seed: int = 0
) -> tuple[float, float]:
    """The L1 strength whose rounded points rank the held-back folds best, and that mean AUC."""
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y))
    best: tuple[float, float] | None = None
    for strength in C_GRID:
        aucs = []
        for train, check in folds:
            fold = fit_with(x[train], y[train], strength, cap=cap)
            aucs.append(auc_of(fold.scores(x[check]), y[check]) or 0.5)
        mean = float(np.mean(aucs))
        if best is None or mean > best[1] + 1e-4:
            best = (strength, mean)
    assert best is not None
    return best


def fit_with(x: np.ndarray, y: np.ndarray, strength: float, *, cap: int = DEFAULT_CAP,
             cv_auc: float | None = None) -> Fitted:  # fmt: skip
    if strength <= 0 or cap <= 0 or x.shape[1] == 0 or y.min() == y.max():
        return Fitted((), (), strength, cv_auc)
    columns, points = _refit(x, y, _select(x, y, strength, cap), cap)
    return Fitted(tuple(columns), tuple(points), strength, cv_auc)


def fit_rules(x: np.ndarray, y: np.ndarray, *, cap: int = DEFAULT_CAP, seed: int = 0) -> Fitted:
    """At most `cap` rules with integer points; C chosen by stratified cross-validation on these leads."""
    if x.shape[1] == 0 or y.min() == y.max():
        return Fitted((), (), 0.0, None)
    strength, cv_auc = choose_strength(x, y, cap=cap, seed=seed)
    return fit_with(x, y, strength, cap=cap, cv_auc=cv_auc)
