"""A user model shaped like django.contrib.auth's on PostgreSQL: a plain 32-bit ``AutoField``.

The test bed's ``AUTH_USER_MODEL`` (``accounts.User``) has a 64-bit id and cannot change
per test; tests point the JWT configuration's user model at this one instead.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models


class ShortIdUser(AbstractBaseUser):
    id = models.AutoField(primary_key=True)
    username = models.CharField(max_length=150, unique=True)
    is_active = models.BooleanField(default=True)
    valid_until = models.DateTimeField(null=True)
    tenant = models.CharField(max_length=20, default="")

    USERNAME_FIELD = "username"

    class Meta:
        app_label = "jwt_testapp"
