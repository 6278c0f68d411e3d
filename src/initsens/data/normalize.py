"""Normalizations, chosen by name: fitted on the training split only, then applied to any split.

A constant gene (zero spread) is mapped to 0 rather than NaN/inf. New normalizations are one small
class registered in :data:`NORMALIZERS`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from initsens.errors import InitsensError
from initsens.registry import Registry


class Normalizer:
    """Base class: ``fit`` learns per-gene parameters from training data, ``transform`` applies
    them.
    """

    description: ClassVar[str] = ""

    def fit(self, X: np.ndarray) -> Normalizer:
        """Learn the per-gene parameters from ``X`` (samples x genes); returns self."""
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` normalized with the fitted parameters, as float32."""
        return X.astype(np.float32, copy=True)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit on ``X`` and return it normalized."""
        return self.fit(X).transform(X)


NORMALIZERS: Registry[type[Normalizer]] = Registry("normalization")


def _safe_scale(scale: np.ndarray) -> np.ndarray:
    """Replace zero (or non-finite) scales by 1 so constant genes become 0, not NaN."""
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


@NORMALIZERS.register("zscore")
class ZScore(Normalizer):
    """Per-gene (x - mean) / sd; a constant gene becomes 0."""

    description = "per gene (x - mean) / sd, mean and sd from the training split"

    def fit(self, X: np.ndarray) -> ZScore:
        """Learn the per-gene parameters from ``X`` (samples x genes); returns self."""
        X64 = X.astype(np.float64)
        self.mean_ = X64.mean(axis=0)
        self.scale_ = _safe_scale(X64.std(axis=0))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` normalized with the fitted parameters, as float32."""
        return ((X - self.mean_) / self.scale_).astype(np.float32)


@NORMALIZERS.register("minmax")
class MinMax(Normalizer):
    """Per-gene (x - min) / (max - min) into [0, 1]; a constant gene becomes 0."""

    description = (
        "per gene (x - min) / (max - min) over the training split (validation may leave [0, 1])"
    )

    def fit(self, X: np.ndarray) -> MinMax:
        """Learn the per-gene parameters from ``X`` (samples x genes); returns self."""
        self.min_ = X.min(axis=0).astype(np.float64)
        self.scale_ = _safe_scale(X.max(axis=0).astype(np.float64) - self.min_)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` normalized with the fitted parameters, as float32."""
        return ((X - self.min_) / self.scale_).astype(np.float32)


@NORMALIZERS.register("log_zscore")
class LogZScore(Normalizer):
    """log2(x + 1), then a per-gene z-score."""

    description = "log2(x + 1), then z-score (for raw, non-negative expression values)"

    @staticmethod
    def _log(X: np.ndarray) -> np.ndarray:
        low = X.min()
        if low < 0:
            raise InitsensError(
                "normalization log_zscore needs non-negative values but the data go down to "
                f"{low:g}; the data may already be log-transformed: use --normalizations zscore"
            )
        return np.log2(X.astype(np.float64) + 1.0)

    def fit(self, X: np.ndarray) -> LogZScore:
        """Learn the per-gene parameters from ``X`` (samples x genes); returns self."""
        self.zscore_ = ZScore().fit(self._log(X))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` normalized with the fitted parameters, as float32."""
        return self.zscore_.transform(self._log(X))


@NORMALIZERS.register("none")
class Identity(Normalizer):
    """No normalization: values as they are."""

    description = "values as they are"


def make_normalizer(name: str) -> Normalizer:
    """A fresh, unfitted normalizer by registered name."""
    return NORMALIZERS.get(name)()


def check_normalization(name: str) -> None:
    """Raise a one-line error for an unknown normalization name."""
    if name not in NORMALIZERS:
        raise InitsensError(
            f"unknown normalization {name!r}; choose one of: {', '.join(NORMALIZERS.names())}"
        )
