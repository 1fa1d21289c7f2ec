"""``cache_response`` on every view shape Django and DRF allow (issue 12, defect 9).

Each view answers with the requesting user's name behind the default (shared) key: an
authenticated answer must never be stored, so Alice's page is never served to Bob or to
an anonymous client, whatever the view's signature.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from cache_testapp import views
from cache_testapp.views import CALLS
from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory

from restflow.caching import cache_response

URL = "/cache_testapp/shape"

DRF_SHAPES = {
    "APIView get(self, req)": (f"{URL}/req/", "shape_req"),
    "APIView get(self, *args, **kwargs)": (f"{URL}/args/", "shape_args"),
    "APIView get(self, request)": (f"{URL}/request/", "shape_request"),
    "ViewSet list(self, req)": (f"{URL}/viewset/", "shape_list"),
    "ViewSet retrieve(self, *args, **kwargs)": (f"{URL}/viewset/7/", "shape_retrieve"),
    "ViewSet @action mine(self, req)": (f"{URL}/viewset/mine/", "shape_action"),
    "@api_view def v(req)": (f"{URL}/api-function/", "shape_api_function"),
}
DJANGO_SHAPES = {
    "def v(req)": (f"{URL}/django-function/", "shape_django_function"),
    "View + method_decorator get(self, req)": (f"{URL}/django-view/", "shape_django_view"),
    "async def v(req)": (f"{URL}/async-function/", "shape_async_function"),
    "View get(self, req), decorated directly": (
        f"{URL}/django-view-direct/",
        "shape_django_view_direct",
    ),
}


pytestmark = pytest.mark.usefixtures("fresh_calls")


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    model = get_user_model()
    return {name: model.objects.create_user(username=name, password="pw") for name in ("alice", "bob")}


def who(response: Any) -> str:
    assert response.status_code == 200, response.content
    return str(json.loads(response.content)["user"])


def clients(users: dict[str, Any], auth: str) -> dict[str, Client]:
    """A client per visitor; ``auth`` says how Alice and Bob authenticate."""
    made = {"anonymous": Client()}
    for name, user in users.items():
        if auth == "session":
            made[name] = Client()
            made[name].force_login(user)
        else:
            made[name] = Client(headers={"X-User": name})
    return made


def assert_isolated(url: str, visitors: dict[str, Client]) -> None:
    for name in ("alice", "bob", "anonymous", "alice", "anonymous", "bob"):
        assert who(visitors[name].get(url)) == name


@pytest.mark.parametrize("auth", ["header", "session"])
@pytest.mark.parametrize("shape", list(DRF_SHAPES))
def test_drf_shapes_never_share_an_authenticated_answer(
    users: dict[str, Any], shape: str, auth: str
) -> None:
    url, counter = DRF_SHAPES[shape]
    assert_isolated(url, clients(users, auth))
    before = CALLS[counter]
    anonymous = Client()
    anonymous.get(url)
    anonymous.get(url)
    assert CALLS[counter] == before  # anonymous answers are still cached


@pytest.mark.parametrize("shape", list(DJANGO_SHAPES))
def test_django_shapes_never_share_an_authenticated_answer(users: dict[str, Any], shape: str) -> None:
    url, _counter = DJANGO_SHAPES[shape]
    assert_isolated(url, clients(users, "session"))


@pytest.mark.parametrize("shape", list(DJANGO_SHAPES))
def test_django_shapes_cache_anonymous_answers(db: Any, shape: str) -> None:
    url, counter = DJANGO_SHAPES[shape]
    answers = [json.loads(Client().get(url).content)["n"] for _ in range(3)]
    assert answers == [1, 1, 1]
    assert CALLS[counter] == 1


def test_async_function_view_with_another_parameter_name(users: dict[str, Any]) -> None:
    import asyncio

    calls: list[str] = []

    @cache_response()
    async def whoami(req: HttpRequest) -> JsonResponse:
        calls.append(str(req.user))
        return JsonResponse({"user": str(req.user)})

    def request_as(user: Any) -> HttpRequest:
        request = RequestFactory().get("/whoami/")
        request.user = user
        return request

    async def scenario() -> list[str]:
        answers = []
        for user in (users["alice"], users["bob"]):
            response = await whoami(request_as(user))
            answers.append(json.loads(response.content)["user"])
        return answers

    assert asyncio.run(scenario()) == ["alice", "bob"]
    assert calls == ["alice", "bob"]


def test_a_view_without_a_request_is_not_cached_and_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    @cache_response()
    def orphan(pk: int) -> JsonResponse:
        calls.append(pk)
        return JsonResponse({"pk": pk})

    with caplog.at_level(logging.WARNING, logger="restflow.caching.cache_response"):
        for _ in range(3):
            orphan(1)
    assert calls == [1, 1, 1]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "orphan" in warnings[0].getMessage()


def test_method_decorator_builds_one_wrapper(db: Any) -> None:
    from restflow.caching import ResponseCacheKeyConstructor
    from restflow.caching.wipe import wrappers_of

    client = Client()
    client.get(f"{URL}/django-view/")
    registered = len(wrappers_of(ResponseCacheKeyConstructor))
    for _ in range(3):
        client.get(f"{URL}/django-view/")
    assert len(wrappers_of(ResponseCacheKeyConstructor)) == registered
    assert views.CALLS["shape_django_view"] == 1


def test_a_token_without_a_user_is_not_keyed_as_anonymous(db: Any) -> None:
    """``request.auth`` without an authenticated user has no identity a user-scoped key
    can tell apart from an anonymous client: such a request is not cached."""
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.test import APIRequestFactory, force_authenticate

    from restflow.caching import RequestValueKeyField, ResponseCacheKeyConstructor

    class PerUser(ResponseCacheKeyConstructor):
        user = RequestValueKeyField("user.id", partition=True)

    served: list[str] = []

    class Tokened(views.ShapeBase):
        @cache_response(PerUser)
        def get(self, request: Any) -> Any:
            from rest_framework.response import Response

            served.append(str(request.auth))
            return Response({"auth": str(request.auth)})

    view = Tokened.as_view()
    factory = APIRequestFactory()
    with_token = factory.get("/tokened/")
    force_authenticate(with_token, user=AnonymousUser(), token="service-token")
    assert json.loads(view(with_token).render().content) == {"auth": "service-token"}
    anonymous = json.loads(view(factory.get("/tokened/")).render().content)
    assert anonymous == {"auth": "None"}
    assert served == ["service-token", "None"]


def test_url_kwargs_partition_a_view_that_takes_args(db: Any) -> None:
    """``retrieve(self, *args, **kwargs)``: the request is not part of the partition, so
    ``delete_by_prefix(pk=...)`` reaches the entry."""
    client = Client()
    answers = [json.loads(client.get(f"{URL}/viewset/7/").content)["n"] for _ in range(2)]
    assert answers == [1, 1]
    views.ShapeViewSet.retrieve.delete_by_prefix(pk=7)
    assert json.loads(client.get(f"{URL}/viewset/7/").content)["n"] == 2
