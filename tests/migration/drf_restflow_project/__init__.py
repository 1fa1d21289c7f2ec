"""A small project configured the way a drf-restflow user had it, run on restflow.

Its settings, dispatcher and cached function are written as drf-restflow's documentation
describes them (the public names and settings keys of docs/migrating-from-drf-restflow.md,
sections 3 and 4); ``test_drf_restflow_project.py`` runs it end to end. The only edits
the migration needed are marked ``# migrated:``.
"""
