"""Models whose saves, deletes and many-to-many changes drive the invalidation tests."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, default="fr")


class ProxyAuthor(Author):
    class Meta:
        proxy = True


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    title = models.CharField(max_length=100)
    status = models.CharField(max_length=20, default="draft")
    pages = models.IntegerField(default=100)
    tags = models.ManyToManyField(Tag, related_name="books", blank=True)


class Gadget(models.Model):
    """A model with a UUID primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=50)


class Member(AbstractBaseUser):
    """A custom user with a UUID primary key (the requests of ``MemberNotes`` carry one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50, unique=True)

    USERNAME_FIELD = "name"


class Note(models.Model):
    """A row owned by one user: per-user cached answers follow its ``owner``."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=100)


class MemberNote(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=100)
