"""The demo's async endpoint, ``GET /api/books/<id>/summary/``, against real servers.

A plain Django ``async def`` view behind ``jwt_required`` (restflow's ``aauthenticate``)
and ``cache_response``: served by the demo's own server (``manage.py runserver`` on a
freshly seeded SQLite database, as ``demo.py`` runs it), and once through Django's
``AsyncClient`` on a Django test database (``asgi_summary.py``, in the demo's settings).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from demo_process import EXAMPLE, demo_environment, run_script

sys.path.insert(0, str(EXAMPLE))

import demo  # docs/example/demo.py: signing_key, manage, Process
import tour  # docs/example/tour.py: tamper

PASSWORDS = {"ada": "ada-demo-password", "grace": "grace-demo-password"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)

    @property
    def cache(self) -> str | None:
        return self.headers.get("x-cache-status")


class Client:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, data: Any = None, authorization: str | None = None) -> Answer:
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(self.base + path, data=body, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if authorization is not None:
            request.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        return Answer(status, {k.lower(): v for k, v in headers.items()}, raw)

    def sign_in(self, user: str = "ada") -> dict[str, str]:
        answer = self.call("POST", "/api/auth/token/", {"username": user, "password": PASSWORDS[user]})
        assert answer.status == 200, answer.raw
        return dict(answer.body)

    def book_id(self, title: str, token: str) -> int:
        query = urllib.parse.urlencode({"search": title})
        found = self.call("GET", f"/api/books/?{query}", authorization=f"Bearer {token}")
        assert found.status == 200, found.raw
        return int(found.body[0]["id"])


@pytest.fixture(scope="module")
def api() -> Iterator[Client]:
    """The demo served by ``runserver`` on a free port, on a freshly seeded database."""
    state = Path(tempfile.mkdtemp(prefix="restflow-summary-"))
    env = demo_environment(state)
    server = None
    try:
        demo.signing_key(env, state)
        demo.manage(env, "seed_catalogue", "--migrate")
        port = demo.free_port()
        base = f"http://127.0.0.1:{port}"
        server = demo.Process(
            "server",
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env,
            state / "server.log",
        )
        server.start()
        server.wait_for(None, probe=f"{base}/api/books/")
        yield Client(base)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(state, ignore_errors=True)


def assert_refused(answer: Answer, code: str | None = None) -> None:
    """401 in JSON with a detail and a code, and the Bearer challenge."""
    assert answer.status == 401, answer.raw
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.body) == {"detail", "code"}, answer.body
    assert answer.body["detail"], answer.body
    if code is not None:
        assert answer.body["code"] == code, answer.body
    assert answer.headers["www-authenticate"] == 'Bearer realm="api"'


def test_a_request_without_a_token_is_refused(api: Client) -> None:
    answer = api.call("GET", "/api/books/1/summary/")
    assert_refused(answer, "not_authenticated")
    assert answer.body["detail"] == "Authentication credentials were not provided."


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer", "invalid_authorization_header"),
        ("Bearer two words", "invalid_authorization_header"),
        ("Bearer not-a-jwt", None),
        ("Bearer a.b.c", None),
    ],
)
def test_a_malformed_token_is_refused(api: Client, authorization: str, code: str | None) -> None:
    assert_refused(api.call("GET", "/api/books/1/summary/", authorization=authorization), code)


def test_a_token_with_a_forged_claim_is_refused(api: Client) -> None:
    forged = tour.tamper(api.sign_in("ada")["access"])  # ada's token, grace's user id
    assert_refused(api.call("GET", "/api/books/1/summary/", authorization=f"Bearer {forged}"))


def test_a_blacklisted_token_is_refused_even_when_the_answer_is_cached(api: Client) -> None:
    tokens = api.sign_in("grace")
    bearer = f"Bearer {tokens['access']}"
    path = f"/api/books/{api.book_id('Small Gods', tokens['access'])}/summary/"
    assert api.call("GET", path, authorization=bearer).status == 200
    assert api.call("GET", path, authorization=bearer).cache == "HIT"
    # Logout blacklists the refresh token and ends its session: the access token dies too.
    assert api.call("POST", "/api/auth/token/blacklist/", {"refresh": tokens["refresh"]}).status == 204
    assert_refused(api.call("GET", path, authorization=bearer), "token_blacklisted")
    # The entry is still there for a valid token: the check runs before the cache.
    assert api.call("GET", path, authorization=f"Bearer {api.sign_in('ada')['access']}").cache == "HIT"


def test_a_hit_after_a_miss_is_the_same_answer(api: Client) -> None:
    access = api.sign_in()["access"]
    book_id = api.book_id("The Dispossessed", access)
    path = f"/api/books/{book_id}/summary/"
    first = api.call("GET", path, authorization=f"Bearer {access}")
    second = api.call("GET", path, authorization=f"Bearer {access}")
    assert (first.status, first.cache, second.status, second.cache) == (200, "MISS", 200, "HIT")
    assert second.raw == first.raw
    assert second.headers["content-type"] == first.headers["content-type"] == "application/json"
    detail = api.call("GET", f"/api/books/{book_id}/", authorization=f"Bearer {access}").body
    assert first.body == {
        "id": book_id,
        "title": "The Dispossessed",
        "price": detail["price"],  # the string BookSerializer writes
        "rating": {"reviews": 1, "average": 5.0},
    }
    assert detail["price"] == "12.00"


def test_a_price_written_through_the_api_shows_at_the_next_read(api: Client) -> None:
    access = api.sign_in()["access"]
    bearer = f"Bearer {access}"
    book_id = api.book_id("Parable of the Sower", access)
    path = f"/api/books/{book_id}/summary/"
    assert api.call("GET", path, authorization=bearer).body["price"] == "13.25"
    assert api.call("GET", path, authorization=bearer).cache == "HIT"
    assert api.call("PATCH", f"/api/books/{book_id}/", {"price": "14.5"}, authorization=bearer).status == 200
    after = api.call("GET", path, authorization=bearer)
    assert (after.status, after.cache, after.body["price"]) == (200, "MISS", "14.50")
    # A new review of the book drops the entry too (its rating is in the answer).
    review = {"rating": 3, "text": "Hard going."}
    assert api.call("POST", f"/api/books/{book_id}/reviews/", review, authorization=bearer).status == 201
    after = api.call("GET", path, authorization=bearer)
    assert (after.cache, after.body["rating"]) == ("MISS", {"reviews": 1, "average": 3.0})


def test_an_unknown_book_is_a_json_404(api: Client) -> None:
    answer = api.call("GET", "/api/books/99999/summary/", authorization=f"Bearer {api.sign_in()['access']}")
    assert answer.status == 404
    assert answer.body == {"detail": "No Book matches the given query.", "code": "not_found"}


def test_a_write_method_is_not_allowed(api: Client) -> None:
    answer = api.call("POST", "/api/books/1/summary/", {}, authorization=f"Bearer {api.sign_in()['access']}")
    assert (answer.status, answer.headers.get("allow")) == (405, "GET, HEAD"), answer.raw[:300]


def test_the_summary_under_the_asgi_handler(tmp_path: Path) -> None:
    """Django's AsyncClient: the view, the token check and the cache on the event loop."""
    steps = {answer["step"]: answer for answer in run_script("asgi_summary.py", tmp_path, '{"step"')}
    refused = steps["no token"]
    assert refused["status"] == 401
    assert json.loads(refused["body"])["code"] == "not_authenticated"
    assert refused["headers"]["WWW-Authenticate"] == 'Bearer realm="api"'
    first, second = steps["first read"], steps["second read"]
    assert (first["status"], first["headers"]["X-Cache-status"]) == (200, "MISS")
    assert (second["status"], second["headers"]["X-Cache-status"]) == (200, "HIT")
    assert second["body"] == first["body"]
    assert json.loads(first["body"])["price"] == "10.99"  # Kindred, as seeded
    assert steps["patch"]["status"] == 200
    after = steps["read after the patch"]
    assert (after["headers"]["X-Cache-status"], json.loads(after["body"])["price"]) == ("MISS", "31.40")
    assert steps["logout"]["status"] == 204
    blacklisted = steps["read after the logout"]
    assert blacklisted["status"] == 401
    assert json.loads(blacklisted["body"])["code"] == "token_blacklisted"
