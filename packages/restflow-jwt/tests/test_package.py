"""Package surface: exports, lazy imports, migration in sync with the model."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

import restflow.authentication as package
from restflow.authentication import jwt as jwt_module


def test_public_names() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    for name in (
        "CacheBlacklistBackend",
        "ModelBlacklistBackend",
        "default_user_authentication_rule",
        "decode_token",
        "encode_token",
        "get_verifying_key",
        "BLACKLIST_CACHE_PREFIX",
    ):
        assert name in jwt_module.__all__
    assert (Path(package.__file__).parent / "py.typed").is_file()


def test_settings_defaults_name_importable_objects() -> None:
    from django.utils.module_loading import import_string

    from restflow.settings import DEFAULTS

    for key in ("BLACKLIST_BACKEND", "USER_AUTHENTICATION_RULE"):
        assert callable(import_string(DEFAULTS["JWT"][key]))


def _fresh_interpreter(code: str) -> str:
    """What ``code`` prints in a new Python process without Django settings."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_does_not_pull_views_or_models() -> None:
    code = (
        "import sys, restflow.authentication;"
        "bad = [m for m in ('rest_framework.views', 'rest_framework.generics',"
        " 'restflow.authentication.models', 'restflow.authentication.views') if m in sys.modules];"
        "print(bad)"
    )
    assert _fresh_interpreter(code) == "[]"


def test_django_setup_imports_neither_pyjwt_nor_cryptography() -> None:
    code = (
        "import sys, django;"
        "from django.conf import settings;"
        "settings.configure(INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth',"
        " 'rest_framework', 'restflow.authentication']);"
        "django.setup();"
        "print([m for m in ('jwt', 'cryptography', 'rest_framework.views') if m in sys.modules])"
    )
    assert _fresh_interpreter(code) == "[]"


@pytest.mark.django_db
def test_migration_matches_model() -> None:
    out = StringIO()
    call_command("makemigrations", "restflow_authentication", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
