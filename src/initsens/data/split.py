"""Reproducible train/validation splits, stratified by cancer type when labels exist."""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.model_selection import train_test_split

from initsens.errors import InitsensError


def train_val_split(
    n_samples: int,
    labels: np.ndarray | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and validation indices; the same ``seed`` always gives the same split.

    With labels, each cancer type is split in the same proportion (stratified), which needs at
    least two samples of every type.
    """
    if not 0.0 < val_fraction < 1.0:
        raise InitsensError(f"validation fraction must be between 0 and 1 (got {val_fraction})")
    n_val = int(round(val_fraction * n_samples))
    if n_val < 1 or n_val >= n_samples:
        raise InitsensError(
            f"{n_samples} samples cannot be split {1 - val_fraction:.0%}/{val_fraction:.0%} "
            "into non-empty training and validation sets"
        )
    if labels is not None:
        counts = Counter(labels.tolist())
        small = sorted((count, name) for name, count in counts.items() if count < 2)
        if small:
            shown = ", ".join(f"{name!r} ({count})" for count, name in small[:3])
            raise InitsensError(
                f"too few samples per cancer type for a stratified split: {shown}; each type needs "
                "at least 2 samples (remove those samples or give no labels)"
            )
        if n_val < len(counts) or n_samples - n_val < len(counts):
            raise InitsensError(
                f"a stratified split of {n_samples} samples into {len(counts)} cancer types needs "
                "at least one sample of each type on both sides; raise the validation fraction or "
                "use more samples"
            )
    train, val = train_test_split(
        np.arange(n_samples), test_size=n_val, stratify=labels, random_state=seed, shuffle=True
    )
    return np.sort(train), np.sort(val)
