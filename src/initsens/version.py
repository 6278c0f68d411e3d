"""The installed initsens version, recorded with every run and report (``0.0.0+unknown`` in a source
tree that was not installed).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("initsens")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
