"""Verify-only mode: a second service verifies the issuer's tokens through its live JWKS.

The issuing service runs in its own process (this test project with the issuer's key
ring, over HTTP on a free loopback port), redeployed on the same port to rotate keys; the
verifying service is this process with its own settings (``JWKS_URL``). Outages, slow
and broken answers come from a scriptable HTTP server serving what the issuer's endpoint
answers. Time is moved with the key set's clock, not by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import RequestFactory, override_settings
from jwt_testapp.forge import forge, hmac_signer
from jwt_testapp.jwks_server import JWKSServer
from jwt_testapp.keyrings import LIFETIME, ago, entry, kid_of, new_private_pem, ring_settings, sign_with
from jwt_testapp.support import VERIFY, WHOAMI, bearer, pem_pair
from restflow_testbed.worker_process import WorkerProcess, worker_env

from restflow.authentication import JWTAuthentication
from restflow.authentication.config import get_config
from restflow.authentication.jwt import AccessToken, JWTConfigurationError, build_jwt_payload
from restflow.authentication.keyring import public_jwk

pytestmark = pytest.mark.django_db

JWKS = "/jwt_testapp/auth/.well-known/jwks.json"
ISSUER = "https://accounts.example.test"
AUDIENCE = "orders-api"
MIN_REFRESH = 30.0
CACHE_LIFETIME = 600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    jwks_server = JWKSServer()
    yield jwks_server
    jwks_server.down()


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(type(value))


class IssuerService:
    """The issuing service in its own process; :meth:`deploy` (re)starts it on one port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.worker: WorkerProcess | None = None
        self.deploys = 0
        self.earlier_fetches = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{JWKS}"

    def deploy(self, *entries: dict[str, Any]) -> None:
        self.stop()
        self.deploys += 1
        path = self.directory / f"issuer-{self.deploys}.json"
        jwt_settings = ring_settings(*entries, ISSUER=ISSUER, AUDIENCE=AUDIENCE)["JWT"]
        path.write_text(json.dumps(jwt_settings, default=_jsonable))
        command = [sys.executable, "-m", "jwt_testapp.issuer_service", str(path), str(self.port)]
        worker = WorkerProcess(f"issuer-{self.deploys}", command, worker_env(Path(__file__).parent))
        worker.start()
        self.worker = worker
        worker.wait_ready(lambda: "listening on" in worker.log(), 60.0, "listening socket")
        found = re.search(r"listening on (\d+)", worker.log())
        assert found is not None
        self.port = int(found[1])

    def fetches(self) -> int:
        """JWKS requests served so far, over every deploy."""
        current = self.worker.log().count("JWKS request") if self.worker else 0
        return self.earlier_fetches + current

    def stop(self) -> None:
        if self.worker is not None:
            self.earlier_fetches = self.fetches()
            self.worker.stop()
            self.worker = None


@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[IssuerService]:
    service = IssuerService(tmp_path)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def pems() -> dict[str, bytes]:
    return {"old": new_private_pem("ES256"), "new": new_private_pem("RS256")}


@pytest.fixture
def issued(server: JWKSServer, pems: dict[str, bytes], user: Any, client: Any) -> str:
    """An access token of the issuer (one ES256 key), whose JWKS the server serves."""
    with issuing(entry(pems["old"], "ES256", "active")):
        server.body = published(client)
        return str(AccessToken.for_user(user))


def issuing(*entries: dict[str, Any]) -> Any:
    return override_settings(
        RESTFLOW_SETTINGS=ring_settings(*entries, ISSUER=ISSUER, AUDIENCE=AUDIENCE)
    )


def published(client: Any) -> bytes:
    """The issuer's JWKS, as its endpoint answers."""
    response = client.get(JWKS)
    assert response.status_code == 200
    return bytes(response.content)


def verify_only(settings: Any, server: JWKSServer | IssuerService, **extra: Any) -> Clock:
    """Switch this process to the verifying service; returns the clock of its key set."""
    settings.RESTFLOW_SETTINGS = {
        "JWT": {
            "JWKS_URL": server.url,
            "ALGORITHM": "ES256",
            "ISSUER": ISSUER,
            "AUDIENCE": AUDIENCE,
            "BLACKLIST_ALLOW_LOCMEM": True,
            "JWKS_MIN_REFRESH_INTERVAL": MIN_REFRESH,
            "JWKS_CACHE_LIFETIME": CACHE_LIFETIME,
            # Generous: a loaded CI machine once took more than 0.5 s to answer a fetch.
            # The timeout test sets its own short one.
            "JWKS_TIMEOUT": 5.0,
            **extra,
        }
    }
    clock = Clock()
    remote = get_config().remote_keys
    assert remote is not None
    remote.clock = clock
    return clock


def whoami(client: Any, token: object) -> Any:
    return client.get(WHOAMI, **bearer(token))


def test_verifies_issuer_tokens_through_its_jwks_and_survives_a_rotation(
    settings: Any, issuer: IssuerService, pems: dict[str, bytes], user: Any, client: Any
) -> None:
    old, new = entry(pems["old"], "ES256", "active"), entry(pems["new"], "RS256", "active")
    retired = entry(pems["old"], "ES256", "retired", RETIRED_AT=ago(timedelta(0)))
    # Tokens as the issuer signs them at each stage (same keys, same settings).
    with issuing(old):
        before = str(AccessToken.for_user(user))
    with issuing(retired, new):
        after = str(AccessToken.for_user(user))
    assert kid_of(before) != kid_of(after)

    issuer.deploy(old)
    clock = verify_only(settings, issuer)
    assert whoami(client, before).json()["username"] == "alice"
    assert client.post(VERIFY, {"token": before}, format="json").status_code == 200
    assert whoami(client, after).status_code == 401  # a key the issuer has not published
    assert issuer.fetches() == 1  # the unknown kid came within JWKS_MIN_REFRESH_INTERVAL

    # The issuer publishes the next key, later promotes it: no restart here.
    issuer.deploy(old, {**new, "STATE": "next"})
    clock.advance(MIN_REFRESH)
    assert whoami(client, after).status_code == 200  # one re-fetch found it
    issuer.deploy(retired, new)
    assert whoami(client, before).status_code == 200  # the retired key still verifies
    assert whoami(client, after).status_code == 200
    assert issuer.fetches() == 2
    clock.advance(CACHE_LIFETIME)
    assert whoami(client, before).status_code == 200  # fetched again from the new deploy
    assert whoami(client, after).status_code == 200
    assert issuer.fetches() == 3


def test_verify_only_service_cannot_sign(settings: Any, server: JWKSServer, user: Any) -> None:
    verify_only(settings, server)
    with pytest.raises(JWTConfigurationError, match="JWKS_URL"):
        AccessToken.for_user(user)


def test_forged_kids_fetch_at_most_once_per_interval(
    settings: Any, server: JWKSServer, pems: dict[str, bytes], user: Any, client: Any
) -> None:
    with issuing(entry(pems["old"], "ES256", "active")):
        genuine = str(AccessToken.for_user(user))
        server.body = published(client)
        payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    clock = verify_only(settings, server)
    assert whoami(client, genuine).status_code == 200
    assert server.requests == 1
    for _ in range(3):
        for _ in range(40):
            forged = sign_with(pems["old"], "ES256", secrets.token_urlsafe(8), payload)
            response = whoami(client, forged)
            assert response.status_code == 401
            assert response.json()["detail"] == "Token key id is not recognised."
        clock.advance(MIN_REFRESH)
    # 120 forged kids over three intervals, the first one starting with the initial fetch:
    # one re-fetch in each later interval, not one per token.
    assert server.requests == 1 + 2
    assert whoami(client, genuine).status_code == 200


def test_down_server_keeps_the_cached_keys_then_fails_closed(
    settings: Any, server: JWKSServer, issued: str, client: Any
) -> None:
    token = issued
    clock = verify_only(settings, server)
    assert whoami(client, token).status_code == 200

    server.down()
    clock.advance(CACHE_LIFETIME - 1)
    assert whoami(client, token).status_code == 200  # cached keys still valid
    clock.advance(1)
    response = whoami(client, token)
    assert response.status_code == 503
    assert response.json()["detail"] == "Token signing keys are unavailable; try again later."
    assert client.post(VERIFY, {"token": token}, format="json").status_code == 503

    server.up()
    requests = server.requests
    assert whoami(client, token).status_code == 503  # no new attempt within the interval
    assert server.requests == requests
    clock.advance(MIN_REFRESH)
    assert whoami(client, token).status_code == 200
    assert server.requests == requests + 1


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"keys": []}'), (200, b"<html>maintenance</html>"), (200, b'{"keys": "none"}'), (200, b"[]")],
)
def test_broken_jwks_answers_are_503_not_500(
    settings: Any, server: JWKSServer, issued: str, client: Any, status: int, body: bytes
) -> None:
    server.status, server.body = status, body
    verify_only(settings, server)
    assert whoami(client, issued).status_code == 503


def test_slow_server_times_out_and_fails_closed(
    settings: Any, server: JWKSServer, issued: str, client: Any
) -> None:
    token = issued
    server.delay = 30.0  # far beyond JWKS_TIMEOUT (0.5 s); released at teardown
    clock = verify_only(settings, server, JWKS_TIMEOUT=0.5)
    assert whoami(client, token).status_code == 503
    server.release.set()
    server.delay = 0.0
    clock.advance(MIN_REFRESH)
    assert whoami(client, token).status_code == 200


def test_shared_secrets_in_a_jwks_are_never_trusted(
    settings: Any, server: JWKSServer, pems: dict[str, bytes], user: Any, client: Any
) -> None:
    secret = secrets.token_bytes(32)
    with issuing(entry(pems["old"], "ES256", "active")):
        document = json.loads(published(client))
        payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    k = jwt.utils.base64url_encode(secret).decode()
    document["keys"].append({"kty": "oct", "kid": "shared", "alg": "HS256", "k": k})
    server.body = json.dumps(document).encode()
    verify_only(settings, server)
    token = forge({"alg": "HS256", "typ": "at+jwt", "kid": "shared"}, payload, hmac_signer("HS256", secret))
    response = whoami(client, token)
    assert response.status_code == 401
    assert response.json()["detail"] == "Token key id is not recognised."


def test_short_rsa_keys_in_a_jwks_are_never_trusted(
    settings: Any, server: JWKSServer, pems: dict[str, bytes], user: Any, client: Any
) -> None:
    small = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=1024))[0]  # noqa: S505
    public = jwt.get_algorithm_by_name("RS256").prepare_key(small).public_key()
    with issuing(entry(pems["old"], "ES256", "active")):
        document = json.loads(published(client))
        payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    document["keys"].append(public_jwk("RS256", public, "short"))
    server.body = json.dumps(document).encode()
    verify_only(settings, server)
    response = whoami(client, sign_with(small, "RS256", "short", payload))
    assert response.status_code == 401
    assert response.json()["detail"] == "Token key id is not recognised."


def test_concurrent_requests_on_an_empty_cache_fetch_once(
    settings: Any, server: JWKSServer, issued: str
) -> None:
    server.delay = 0.3  # every thread arrives while the first fetch is in flight
    verify_only(settings, server, JWKS_TIMEOUT=30)
    kid = kid_of(issued)
    find = get_config().find_key
    with ThreadPoolExecutor(max_workers=16) as pool:
        found = list(pool.map(lambda _: find(kid), range(16)))
    assert all(key is not None and key.kid == kid for key in found)
    assert server.requests == 1


def test_async_authentication_fetches_the_jwks_off_the_event_loop(
    settings: Any, server: JWKSServer, issued: str, user: Any
) -> None:
    server.delay = 0.3  # the fetch is still in flight when the event loop gets a turn
    verify_only(settings, server, JWKS_TIMEOUT=30)
    request = RequestFactory().get("/", **bearer(issued))

    async def scenario() -> Any:
        async def other_request() -> None:
            await asyncio.sleep(0)
            server.events.append("event loop ran")

        other = asyncio.ensure_future(other_request())
        result = await JWTAuthentication().aauthenticate(request)
        await other
        return result

    authenticated, token = async_to_sync(scenario)()
    assert authenticated.pk == user.pk
    assert token.raw == issued
    assert server.events == ["event loop ran", "jwks served"]
