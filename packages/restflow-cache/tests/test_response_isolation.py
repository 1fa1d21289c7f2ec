"""What one visitor's cached answer must never reach (issue 12, defects 10, 11, 12, 15).

Through real views, the test bed's middleware (``SessionMiddleware`` included) and
Django's test client.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cache_testapp.views import CALLS
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

URL = "/cache_testapp"


pytestmark = pytest.mark.usefixtures("fresh_calls")


def body(response: Any) -> Any:
    assert response.status_code == 200, response.content
    return json.loads(response.content)


class TestSession:
    """Defect 10: an answer built from the session is not stored."""

    def test_session_data_is_not_served_to_the_next_visitor(self, db: Any) -> None:
        first = Client()
        session = first.session
        session["note"] = "first visitor's secret"
        session.save()
        assert body(first.get(f"{URL}/session-echo/"))["note"] == "first visitor's secret"
        assert body(Client().get(f"{URL}/session-echo/"))["note"] is None
        assert CALLS["session_echo"] == 2

    def test_a_session_write_is_not_stored_either(self, db: Any) -> None:
        writer = Client()
        assert body(writer.get(f"{URL}/session-echo/", {"note": "mine"}))["note"] == "mine"
        assert body(Client().get(f"{URL}/session-echo/", {"note": "mine"}))["n"] == 2

    def test_session_middleware_still_sees_the_access(self, db: Any) -> None:
        response = Client().get(f"{URL}/session-echo/")
        assert "Cookie" in response["Vary"]  # SessionMiddleware saw ``accessed``

    def test_session_read_by_authentication_does_not_stop_caching(self, db: Any) -> None:
        # DRF's SessionAuthentication reads the session before the view runs.
        client = Client()
        answers = [body(client.get(f"{URL}/shape/request/"))["n"] for _ in range(2)]
        assert answers == [1, 1]


class TestHostAndScheme:
    """Defect 11: the default key holds the scheme and the host."""

    def test_an_answer_for_one_host_is_not_served_to_another(self, db: Any) -> None:
        client = Client()
        one = body(client.get(f"{URL}/absolute/", HTTP_HOST="one.example"))
        two = body(client.get(f"{URL}/absolute/", HTTP_HOST="two.example"))
        again = body(client.get(f"{URL}/absolute/", HTTP_HOST="one.example"))
        assert one["self"] == "http://one.example/cache_testapp/absolute/"
        assert two["self"] == "http://two.example/cache_testapp/absolute/"
        assert again == one  # still cached per host
        assert CALLS["absolute"] == 2

    def test_a_trusted_forwarded_host_keys_the_entry(self, db: Any) -> None:
        client = Client()
        with override_settings(USE_X_FORWARDED_HOST=True):
            answers = [
                body(client.get(f"{URL}/absolute/", HTTP_X_FORWARDED_HOST=h))["self"]
                for h in ("one.example", "two.example")
            ]
        assert answers == [
            "http://one.example/cache_testapp/absolute/",
            "http://two.example/cache_testapp/absolute/",
        ]

    def test_an_http_answer_is_not_served_over_https(self, db: Any) -> None:
        client = Client()
        plain = body(client.get(f"{URL}/absolute/"))
        secure = body(client.get(f"{URL}/absolute/", secure=True))
        assert plain["self"].startswith("http://")
        assert secure["self"].startswith("https://")


class TestUserScoping:
    """Defect 12: only the user's identity scopes an entry by user."""

    @pytest.fixture
    def users(self, db: Any) -> dict[str, Any]:
        model = get_user_model()
        names = ("alice", "bob", "AnonymousUser")
        return {name: model.objects.create_user(username=name, password="pw") for name in names}

    def test_a_user_attribute_is_not_an_identity(self, users: dict[str, Any]) -> None:
        alice = body(Client(headers={"X-User": "alice"}).get(f"{URL}/staff-flag/"))
        bob = body(Client(headers={"X-User": "bob"}).get(f"{URL}/staff-flag/"))
        assert (alice["user"], bob["user"]) == ("alice", "bob")

    def test_an_account_named_anonymoususer_is_not_anonymous(self, users: dict[str, Any]) -> None:
        named = body(Client(headers={"X-User": "AnonymousUser"}).get(f"{URL}/whole-user/"))
        anonymous = body(Client().get(f"{URL}/whole-user/"))
        assert (named["user"], anonymous["user"]) == ("AnonymousUser", "anonymous")

    def test_the_whole_user_path_caches_per_user(self, users: dict[str, Any]) -> None:
        alice = Client(headers={"X-User": "alice"})
        bob = Client(headers={"X-User": "bob"})
        seen = [body(c.get(f"{URL}/whole-user/"))["user"] for c in (alice, bob, alice, bob)]
        assert seen == ["alice", "bob", "alice", "bob"]
        assert CALLS["whole_user"] == 2


class TestRepeatedQueryParameters:
    """Defect 15: ``?a=2&a=1`` and ``?a=1&a=2`` are different requests."""

    def test_their_order_keys_the_entry(self, db: Any) -> None:
        client = Client()
        assert body(client.get(f"{URL}/echo-query/?a=2&a=1"))["a"] == "1"
        assert body(client.get(f"{URL}/echo-query/?a=1&a=2"))["a"] == "2"
        assert body(client.get(f"{URL}/echo-query/?a=2&a=1"))["n"] == 1

    def test_different_names_stay_order_insensitive(self, db: Any) -> None:
        client = Client()
        client.get(f"{URL}/echo-query/?a=1&b=2")
        assert body(client.get(f"{URL}/echo-query/?b=2&a=1"))["n"] == 1
