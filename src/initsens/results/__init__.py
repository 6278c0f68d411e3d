"""Results folders: the tables' columns (:mod:`~initsens.results.schema`), the store that writes
them (:class:`ResultsStore`), what their readers see (:mod:`~initsens.results.read`), and
``initsens check``'s inspection and repair (:mod:`~initsens.results.check`). Reading a results
folder needs no torch.

Typical use::

    from initsens.results import ResultsStore, inspect_folder
    runs = ResultsStore("results").read_runs().to_pandas()
    print(inspect_folder("results").problems)
"""

from initsens.results.check import Inspection, inspect_folder, repair
from initsens.results.read import READERS, TABLES, live_parts, reader_files, stray_files
from initsens.results.schema import EPOCHS_SCHEMA, METRICS_SCHEMA, RUNS_SCHEMA, SCHEMA_VERSION
from initsens.results.store import ResultsStore

__all__ = [
    "EPOCHS_SCHEMA",
    "METRICS_SCHEMA",
    "READERS",
    "RUNS_SCHEMA",
    "SCHEMA_VERSION",
    "TABLES",
    "Inspection",
    "ResultsStore",
    "inspect_folder",
    "live_parts",
    "reader_files",
    "repair",
    "stray_files",
]
