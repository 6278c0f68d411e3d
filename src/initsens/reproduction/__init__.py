"""The reproduction of one study, as a wing on top of the general toolkit (which never imports it).

:mod:`~initsens.reproduction.studies` says what ``initsens reproduce`` trains,
:mod:`~initsens.reproduction.claims` declares the claims and their rules,
:mod:`~initsens.reproduction.judge` judges every study and :mod:`~initsens.reproduction.report`
writes the report; :func:`initsens.reproduce` runs all of it (the docs'
:doc:`The reproduction </reproduction>` page).
"""
