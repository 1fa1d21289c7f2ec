from __future__ import annotations

import uuid

from django.db import models


class Item(models.Model):
    """Integer primary key."""

    title: models.CharField[str, str] = models.CharField(max_length=100)


class Gadget(models.Model):
    """UUID primary key (travels as a string)."""

    id: models.UUIDField[uuid.UUID, uuid.UUID] = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label: models.CharField[str, str] = models.CharField(max_length=100)


class Badge(models.Model):
    """String primary key."""

    code: models.CharField[str, str] = models.CharField(primary_key=True, max_length=64)
    text: models.CharField[str, str] = models.CharField(max_length=100)
