"""Models whose writes are invalidated through RQ in the end-to-end tests."""

from __future__ import annotations

import uuid

from django.db import models


class Note(models.Model):
    """Integer primary key; cached per owner."""

    owner_id = models.IntegerField()
    text = models.CharField(max_length=100)
    stars = models.IntegerField(default=0)


class Sticker(models.Model):
    """UUID primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=50)


class Shelf(models.Model):
    """String primary key."""

    code = models.CharField(primary_key=True, max_length=20)
    name = models.CharField(max_length=50)
