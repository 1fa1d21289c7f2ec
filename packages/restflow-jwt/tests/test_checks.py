"""System checks: ids, and a hint that says the fix."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks

from restflow.authentication.checks import check_jwt_settings

OK = "s" * 64



@pytest.fixture
def check(configure_jwt: Any) -> Any:
    def run(**jwt: Any) -> dict[str, Any]:
        configure_jwt(**jwt)
        messages = check_jwt_settings()
        for message in messages:
            assert message.hint, message
        return {m.id: m for m in messages}

    return run


P = "restflow_authentication."


def test_good_configuration_is_quiet(check: Any) -> None:
    assert check(SIGNING_KEY=OK) == {}


def test_algorithm_none(check: Any) -> None:
    assert P + "E001" in check(ALGORITHM="none")


def test_algorithm_unknown(check: Any) -> None:
    found = check(ALGORITHM="HS999")
    assert P + "E002" in found
    assert "HS256" in found[P + "E002"].hint


def test_user_id_field_outside_allowlist(check: Any) -> None:
    assert P + "E003" in check(USER_ID_FIELD="password")


def test_pem_key_with_hmac(check: Any, key_pairs: Any) -> None:
    assert P + "E004" in check(SIGNING_KEY=key_pairs["RSA"][1])


@pytest.mark.parametrize(("algorithm", "size"), [("HS256", 31), ("HS384", 47), ("HS512", 63)])
def test_short_hmac_secret(check: Any, algorithm: str, size: int) -> None:
    assert P + "E005" in check(ALGORITHM=algorithm, SIGNING_KEY="x" * size)
    assert check(ALGORITHM=algorithm, SIGNING_KEY="x" * (size + 1)) == {}


def test_missing_signing_key(check: Any) -> None:
    assert P + "W001" in check(SIGNING_KEY=None)


def test_small_rsa_key(check: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt_testapp.support import pem_pair

    private_pem, _ = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    assert P + "E006" in check(ALGORITHM="RS256", SIGNING_KEY=private_pem)


def test_private_key_as_verifying_key(check: Any, key_pairs: Any) -> None:
    private_pem, _ = key_pairs["RSA"]
    assert P + "E007" in check(ALGORITHM="RS256", SIGNING_KEY=None, VERIFYING_KEY=private_pem)


def test_asymmetric_algorithm_without_usable_key(check: Any, key_pairs: Any) -> None:
    assert P + "E008" in check(ALGORITHM="RS256", SIGNING_KEY="not a key at all")
    assert P + "E008" in check(ALGORITHM="ES256", SIGNING_KEY=key_pairs["RSA"][0])


def test_asymmetric_verifier_only_is_fine(check: Any, key_pairs: Any) -> None:
    assert check(ALGORITHM="RS256", SIGNING_KEY=None, VERIFYING_KEY=key_pairs["RSA"][1]) == {}
    assert check(ALGORITHM="EdDSA", SIGNING_KEY=key_pairs["Ed25519"][0]) == {}


def test_locmem_blacklist_cache(check: Any) -> None:
    assert P + "W002" in check(SIGNING_KEY=OK, BLACKLIST_ALLOW_LOCMEM=False)
    assert P + "W002" not in check(
        SIGNING_KEY=OK,
        BLACKLIST_ALLOW_LOCMEM=False,
        BLACKLIST_BACKEND="restflow.authentication.jwt.ModelBlacklistBackend",
    )
    assert P + "W002" not in check(SIGNING_KEY=OK, BLACKLIST_ALLOW_LOCMEM=False, BLACKLIST_ENABLED=False)


def test_blacklist_backend_that_does_not_import(check: Any) -> None:
    found = check(SIGNING_KEY=OK, BLACKLIST_BACKEND="nowhere.Backend")
    assert P + "E009" in found
    assert "BLACKLIST_BACKEND" in found[P + "E009"].msg


def test_rule_that_does_not_import(check: Any) -> None:
    assert P + "E010" in check(SIGNING_KEY=OK, USER_AUTHENTICATION_RULE="nowhere.rule")


def test_checks_run_through_django(configure_jwt: Any) -> None:
    from django.core.checks import Tags, run_checks

    configure_jwt(ALGORITHM="none")
    assert P + "E001" in {m.id for m in run_checks(tags=[Tags.security])}


def test_public_key_as_signing_key(check: Any, key_pairs: Any, configure_jwt: Any) -> None:
    from restflow.authentication import JWTConfigurationError
    from restflow.authentication.jwt import encode_token

    found = check(ALGORITHM="RS256", SIGNING_KEY=key_pairs["RSA"][1])
    assert "public key" in found[P + "E008"].msg
    with pytest.raises(JWTConfigurationError, match="public key"):
        encode_token({"token_type": "access"})


def test_blacklist_cache_that_ignores_errors(check: Any, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
    found = check(SIGNING_KEY=OK)
    assert P + "W003" in found
    assert "IGNORE_EXCEPTIONS" in found[P + "W003"].msg


EVICTING = [
    "django.core.cache.backends.db.DatabaseCache",
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django.core.cache.backends.dummy.DummyCache",
    "jwt_testapp.caches.ProjectDatabaseCache",
]


@pytest.mark.parametrize("backend", EVICTING)
def test_blacklist_cache_that_drops_entries_is_an_error(
    check: Any, settings: Any, backend: str, tmp_path: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    for allow_locmem in (False, True):
        found = check(SIGNING_KEY=OK, BLACKLIST_ALLOW_LOCMEM=allow_locmem)
        assert P + "E011" in found, found
        message = found[P + "E011"]
        assert message.level == checks.ERROR
        assert "BLACKLIST_CACHE_ALIAS = 'default'" in message.msg
        assert "revoked" in message.msg
        assert "Redis" in message.hint
        assert "ModelBlacklistBackend" in message.hint
    model = "restflow.authentication.jwt.ModelBlacklistBackend"
    assert P + "E011" not in check(SIGNING_KEY=OK, BLACKLIST_BACKEND=model)
    assert P + "E011" not in check(SIGNING_KEY=OK, BLACKLIST_ENABLED=False)


def test_blacklist_cache_on_redis_is_no_error(check: Any, settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}
    }
    assert P + "E011" not in check(SIGNING_KEY=OK)


@pytest.mark.parametrize("field", ["username", "email"])
def test_user_id_field_users_can_change_warns(check: Any, field: str) -> None:
    """After a rename, a new account taking the old value would be authenticated by the
    old account's tokens."""
    found = check(SIGNING_KEY=OK, USER_ID_FIELD=field)
    assert P + "W004" in found, found
    message = found[P + "W004"]
    assert f"USER_ID_FIELD'] = {field!r}" in message.msg
    assert "CHECK_REVOKE_TOKEN" in message.hint
    assert "'id'" in message.hint
    assert P + "W004" not in check(SIGNING_KEY=OK, USER_ID_FIELD=field, CHECK_REVOKE_TOKEN=True)


@pytest.mark.parametrize("field", ["id", "pk", "uuid"])
def test_user_id_field_users_cannot_change_is_quiet(check: Any, field: str) -> None:
    """The primary key, or a unique field with ``editable=False`` (the test bed's uuid)."""
    assert P + "W004" not in check(SIGNING_KEY=OK, USER_ID_FIELD=field)


def test_session_limit_must_be_a_positive_integer(check: Any) -> None:
    for bad in (0, -1, "5", True, 2.5):
        found = check(SIGNING_KEY=OK, TRACK_SESSIONS=True, SESSION_LIMIT=bad)
        assert P + "E018" in found, bad
    assert P + "E018" not in check(SIGNING_KEY=OK, TRACK_SESSIONS=True, SESSION_LIMIT=3)


def test_session_limit_without_tracking(check: Any) -> None:
    found = check(SIGNING_KEY=OK, SESSION_LIMIT=3)
    assert "TRACK_SESSIONS" in found[P + "E018"].hint


def test_tracking_needs_the_app(check: Any, settings: Any) -> None:
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "restflow.authentication"]
    assert "INSTALLED_APPS" in check(SIGNING_KEY=OK, TRACK_SESSIONS=True)[P + "E019"].hint


def test_grace_period_must_be_seconds(check: Any) -> None:
    assert P + "E020" in check(SIGNING_KEY=OK, ROTATION_GRACE_PERIOD=-1)
    assert P + "E020" in check(SIGNING_KEY=OK, ROTATION_GRACE_PERIOD="10")
    assert P + "E020" not in check(SIGNING_KEY=OK, ROTATION_GRACE_PERIOD=10)


def test_documented_test_setup_is_quiet_with_rotation(check: Any) -> None:
    """The test settings follow W002's hint (LocMemCache + BLACKLIST_ALLOW_LOCMEM) with
    rotation on (the default): the ordinary checks say nothing."""
    assert check(SIGNING_KEY=OK, ROTATE_REFRESH_TOKENS=True) == {}


def test_locmem_blacklist_without_the_flag(check: Any) -> None:
    found = check(SIGNING_KEY=OK, BLACKLIST_ALLOW_LOCMEM=False)
    assert "BLACKLIST_ALLOW_LOCMEM = True for tests" in found[P + "W002"].hint
    assert "--deploy" in found[P + "W002"].hint


def deploy_ids() -> set[str]:
    return {m.id for m in checks.run_checks(include_deployment_checks=True) if m.id.startswith(P)}


def test_deploy_check_reports_the_test_flag(configure_jwt: Any) -> None:
    """manage.py check --deploy reports BLACKLIST_ALLOW_LOCMEM (W005), rotation or not;
    the plain checks (test runs, runserver) do not."""
    for rotate in (True, False):
        configure_jwt(SIGNING_KEY=OK, ROTATE_REFRESH_TOKENS=rotate)
        assert P + "W005" in deploy_ids()
        assert P + "W005" not in {m.id for m in checks.run_checks()}
    configure_jwt(SIGNING_KEY=OK, BLACKLIST_BACKEND="restflow.authentication.jwt.ModelBlacklistBackend")
    assert P + "W005" not in deploy_ids()
    configure_jwt(SIGNING_KEY=OK, BLACKLIST_ALLOW_LOCMEM=False)
    assert P + "W005" not in deploy_ids()  # W002 already reports it


CSRF = "django.middleware.csrf.CsrfViewMiddleware"


@pytest.fixture
def cookie_check(check: Any, settings: Any) -> Any:
    """The checks with cookie mode on, the CSRF middleware installed, DEBUG off."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, CSRF]
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["api.example.com"]

    def run(**cookie: Any) -> dict[str, Any]:
        return check(SIGNING_KEY=OK, COOKIE={"ENABLED": True, **cookie})  # type: ignore[no-any-return]

    return run


def test_cookie_mode_with_defaults_is_quiet(cookie_check: Any) -> None:
    assert cookie_check() == {}
    assert cookie_check(DOMAIN="api.example.com") == {}


def test_cookie_without_secure_outside_debug(cookie_check: Any, settings: Any) -> None:
    found = cookie_check(SECURE=False)
    assert set(found) == {P + "W006"}
    assert "HTTPS" in found[P + "W006"].hint
    settings.DEBUG = True
    assert cookie_check(SECURE=False) == {}


def test_samesite_none_needs_secure(cookie_check: Any) -> None:
    assert cookie_check(SAMESITE="None") == {}
    found = cookie_check(SAMESITE="None", SECURE=False)
    assert P + "E021" in found
    assert "without SECURE" in found[P + "E021"].msg
    assert P + "E021" in cookie_check(SAMESITE="lax-ish")


def test_cookie_mode_needs_the_csrf_middleware(cookie_check: Any, settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != CSRF]
    found = cookie_check()
    assert set(found) == {P + "E022"}
    assert CSRF in found[P + "E022"].hint


def test_cookie_domain_broader_than_the_host(cookie_check: Any) -> None:
    found = cookie_check(DOMAIN=".example.com")
    assert set(found) == {P + "W007"}
    assert "api.example.com" in found[P + "W007"].msg
    assert P + "W007" in cookie_check(DOMAIN="com")


def test_cookie_checks_are_silent_while_cookie_mode_is_off(check: Any, settings: Any) -> None:
    settings.DEBUG = False
    assert check(SIGNING_KEY=OK, COOKIE={"SECURE": False, "SAMESITE": "None"}) == {}
