"""Models for restflow-cache tests. Add new models by appending only."""

from __future__ import annotations

import uuid

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    label = models.CharField(max_length=50)


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField(Tag, related_name="books", blank=True)
    pages = models.IntegerField(default=0)


class Gadget(models.Model):
    """A model with a UUID primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)


class Country(models.Model):
    """A model with a string primary key."""

    code = models.CharField(primary_key=True, max_length=8)
    name = models.CharField(max_length=100)
