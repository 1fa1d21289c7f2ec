"""A project's own cache class derived from one that culls (it culls like its parent)."""

from django.core.cache.backends.db import DatabaseCache


class ProjectDatabaseCache(DatabaseCache):
    pass
