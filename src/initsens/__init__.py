"""initsens: how sensitive is each VAE to its weight initialization on TCGA RNA-seq?

Subpackages: :mod:`initsens.data` (datasets, preprocessing, splits), :mod:`initsens.models`
(VAE networks, objectives, initializers) and :mod:`initsens.cli` (the ``initsens`` command).
"""

from importlib.metadata import PackageNotFoundError, version

from initsens.errors import InitsensError

try:
    __version__ = version("initsens")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["InitsensError", "__version__"]
