"""Choosing the torch device from the --device option."""

from __future__ import annotations

import torch

from initsens.errors import InitsensError

#: --device: ``auto`` picks CUDA when available.
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InitsensError(
            "--device cuda was asked for but torch sees no CUDA GPU; use --device cpu or auto"
        )
    if name not in DEVICES:
        raise InitsensError(f"unknown --device {name!r}; choose one of: {', '.join(DEVICES)}")
    return torch.device(name)
