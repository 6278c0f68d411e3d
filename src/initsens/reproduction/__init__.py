"""The reproduction of one study, as a wing on top of the general toolkit (which never imports it).

:mod:`~initsens.reproduction.studies` says what ``initsens reproduce`` trains (the protocols, both readings of "the
default", ablations, the scale ladder); :mod:`~initsens.reproduction.claims` declares the original study's claims
and their decision rules; :mod:`~initsens.reproduction.judge` judges every study, with
:mod:`~initsens.reproduction.cache` (a process pool and a cache per study) and
:mod:`~initsens.reproduction.diagnostics` (what the data show about each study's settings); and
:mod:`~initsens.reproduction.report` writes the report. :func:`initsens.reproduce` runs all of it.
"""
