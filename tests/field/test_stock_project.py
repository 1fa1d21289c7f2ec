"""The stock project only: it is the configuration ``startproject`` gives."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_stock_user_has_a_32_bit_id_and_project_models_64_bit(alice: Any) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from field_common.models import Article

    assert get_user_model()._meta.label == "auth.User"
    assert get_user_model()._meta.pk.get_internal_type() == "AutoField"
    assert Article._meta.pk.get_internal_type() == "BigAutoField"
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
