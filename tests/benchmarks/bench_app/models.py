"""One plain model and one model per number of invalidation rules (1, 10, 100)."""

from __future__ import annotations

from django.db import models


class _Row(models.Model):
    group_id: models.IntegerField[int, int] = models.IntegerField(default=1)
    title: models.CharField[str, str] = models.CharField(max_length=100, default="")

    class Meta:
        abstract = True


class PlainRow(_Row):
    """No rules: the cost of a plain ``save()``."""


class Rules1Row(_Row):
    pass


class Rules10Row(_Row):
    pass


class Rules100Row(_Row):
    pass


class CeleryRow(_Row):
    """Saved by the broker comparison (one model per broker, one rule each)."""


class RqRow(_Row):
    pass


class DramatiqRow(_Row):
    pass


class DjangoQRow(_Row):
    pass
