"""A custom user: UUID primary key, e-mail login, and a default manager that hides users.

Soft-deleted users (``is_deleted``) and users whose access ended (``valid_until`` in the
past) are not in ``User.objects``, the default manager Django's auth and restflow use.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CurrentUserManager(BaseUserManager):
    use_in_migrations = True

    def get_queryset(self) -> models.QuerySet:
        return (
            super()
            .get_queryset()
            .filter(is_deleted=False)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now()))
        )

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    valid_until = models.DateTimeField(null=True, blank=True)

    objects = CurrentUserManager()
    everyone = models.Manager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email
