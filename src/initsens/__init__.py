"""initsens: how sensitive is each VAE to its weight initialization on TCGA RNA-seq?

In a notebook: ``initsens.train``, ``initsens.analyze`` and ``initsens.reproduce``
(:mod:`initsens.api`), imported on first use so that ``import initsens`` and ``initsens --help``
stay fast. Subpackages: :mod:`initsens.data` (datasets, preprocessing, splits),
:mod:`initsens.models` (VAE networks, objectives, initializers), :mod:`initsens.training`,
:mod:`initsens.analysis`, :mod:`initsens.report` and :mod:`initsens.cli` (the ``initsens`` command).
"""

from initsens.errors import InitsensError
from initsens.version import __version__

__all__ = ["InitsensError", "__version__", "analyze", "reproduce", "train"]
_API = ("train", "analyze", "reproduce")


def __getattr__(name: str):
    """``initsens.train`` and friends, imported from :mod:`initsens.api` on first use."""
    if name in _API:
        from initsens import api

        return getattr(api, name)
    raise AttributeError(f"module 'initsens' has no attribute {name!r}")
