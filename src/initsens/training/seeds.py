"""Independent random streams per run, derived from its seed.

A run's seed fixes five streams, each from its own child of ``numpy.random.SeedSequence(seed)``:
initial weights, minibatch order, sampling noise in training, sampling noise in validation, and the
latent sample drawn for clustering (``--clustering leiden``).
Because the streams are separate, changing the initializer (or the model) changes nothing else:
the same seed gives paired runs with the same minibatch order and noise (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class RunSeeds:
    """Integer seeds of a run's five streams (child i of the SeedSequence is the same whatever their
    number, so adding a stream leaves the others unchanged).
    """

    init: int
    order: int
    noise: int
    val_noise: int
    embed_noise: int

    @classmethod
    def from_seed(cls, seed: int) -> RunSeeds:
        """The run's streams, spawned from its seed."""
        children = np.random.SeedSequence(seed).spawn(5)
        return cls(*(int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children))

    def order_rng(self) -> np.random.Generator:
        """The generator of the minibatch order."""
        return np.random.default_rng(self.order)

    def noise_generator(self, device: torch.device) -> torch.Generator:
        """The torch generator of the reparameterization noise on ``device``."""
        return torch.Generator(device=device).manual_seed(self.noise)

    def val_noise_generator(self, device: torch.device) -> torch.Generator:
        """A fresh generator per evaluation: every epoch's validation loss uses the same noise."""
        return torch.Generator(device=device).manual_seed(self.val_noise)

    def embed_generator(self, device: torch.device) -> torch.Generator:
        """The torch generator of the embedding's samples (Leiden clustering) on ``device``."""
        return torch.Generator(device=device).manual_seed(self.embed_noise)
