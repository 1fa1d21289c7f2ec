"""A short tour of restflow: ``python3 -m nox -s demo`` runs it in a fresh venv.

It configures a throw-away Django project in memory (SQLite, local-memory cache), then
shows what the installed restflow distributions do:

1. the resolved ``RESTFLOW_SETTINGS`` (defaults + the few keys set below);
2. the dispatchers the registry found (built-in and from plugin entry points);
3. restflow-jwt: a token obtained from the obtain view, used on a protected view, and a
   tampered token refused with 401;
4. restflow-cache: a cached function answering MISS, then HIT, then MISS again after
   its entry was deleted.

Sections whose distribution is not installed are skipped with a note.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import secrets
import sys
from datetime import timedelta
from typing import Any

urlpatterns: list[Any] = []  # ROOT_URLCONF of the demo project: no URL needed


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def title(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 74 - len(text)))


def configure_django() -> None:
    import django
    from django.conf import settings

    apps = ["django.contrib.auth", "django.contrib.contenttypes"]
    optional = ("rest_framework", "restflow.authentication", "restflow.caching")
    apps += [app for app in optional if installed(app)]
    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(50),
        USE_TZ=True,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=apps,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        RESTFLOW_SETTINGS={
            "JWT": {
                "SIGNING_KEY": secrets.token_urlsafe(64),
                "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
                # One process, so the in-memory cache may hold the blacklist.
                "BLACKLIST_ALLOW_LOCMEM": True,
            },
        },
    )
    django.setup()


def show_versions() -> None:
    title("installed restflow distributions")
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"]):
        name = dist.metadata["Name"]
        if name.startswith("restflow-"):
            print(f"  {name} {dist.version}")


def show_settings() -> None:
    from restflow.settings import restflow_settings

    title("resolved RESTFLOW_SETTINGS")
    resolved = restflow_settings.to_dict()
    resolved["JWT"]["SIGNING_KEY"] = "<set, hidden>"
    blocks = resolved["CACHE_SETTINGS"].pop("DISPATCHER_SETTINGS")
    for section, values in resolved.items():
        print(f"  {section}")
        for key, value in values.items():
            print(f"    {key:<26} {value!r}")
    print("    DISPATCHER_SETTINGS")
    for name, block in blocks.items():
        print(f"      {name:<11} {json.dumps(block, default=str)}")
    print(f"  restflow_settings.JWT.ALGORITHM -> {restflow_settings.JWT.ALGORITHM!r}")


def show_dispatchers() -> None:
    from restflow.dispatch.registry import get_dispatcher, registered_dispatcher_names

    title("registered dispatchers")
    for name in sorted(registered_dispatcher_names()):
        cls = type(get_dispatcher(name))
        print(f"  {name:<11} {cls.__module__}.{cls.__qualname__}")


def show_checks() -> None:
    from django.core.management import call_command

    title("manage.py check")
    call_command("check")


def show_jwt() -> None:
    title("restflow-jwt: obtain a token, use it, tamper with it")
    if not (installed("restflow.authentication") and installed("rest_framework")):
        print("  (restflow-jwt is not installed: pip install restflow-jwt)")
        return
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from restflow.authentication import JWTAuthentication, TokenObtainView

    call_command("migrate", verbosity=0)
    password = secrets.token_urlsafe(16)
    get_user_model().objects.create_user("ada", password=password)

    class WhoAmI(APIView):
        authentication_classes = [JWTAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request: Request) -> Response:
            return Response({"username": request.user.get_username()})

    factory = APIRequestFactory()
    obtain = TokenObtainView.as_view()
    response = obtain(
        factory.post(
            "/token/",
            {"username": "ada", "password": password},
            format="json",
        )
    )
    print(f"  POST /token/            -> {response.status_code}, keys {sorted(response.data)}")
    if response.status_code != 200:
        raise SystemExit(f"obtaining a token failed: {response.data}")
    access = response.data["access"]
    print(f"  access token            {access[:32]}...")

    whoami = WhoAmI.as_view()
    ok = whoami(factory.get("/me/", HTTP_AUTHORIZATION=f"Bearer {access}"))
    print(f"  GET /me/ with the token -> {ok.status_code} {dict(ok.data)}")
    tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    refused = whoami(factory.get("/me/", HTTP_AUTHORIZATION=f"Bearer {tampered}"))
    detail = {k: str(v) for k, v in refused.data.items()}
    print(f"  GET /me/ tampered token -> {refused.status_code} {detail}")
    if ok.status_code != 200 or refused.status_code != 401:
        raise SystemExit("JWT authentication did not behave as expected")


def show_cache() -> None:
    title("restflow-cache: a cached function, MISS then HIT")
    if not installed("restflow.caching"):
        print("  (restflow-cache is not installed: pip install restflow-cache)")
        return
    from restflow.caching import cache_result

    computed: list[int] = []

    @cache_result(ttl=60)
    def book_price(book_id: int) -> dict[str, Any]:
        computed.append(book_id)
        return {"book": book_id, "price": 42}

    def call(label: str) -> None:
        value, metadata = book_price.get_with_metadata(7)
        status = (metadata or {}).get("cache_status", "?")
        status = getattr(status, "value", status)
        print(f"  {label:<28} -> {status:<5} {value}  (computed {len(computed)}x)")

    call("first call")
    call("second call")
    book_price.delete_cache(7)
    call("after delete_cache(7)")
    if computed != [7, 7]:
        raise SystemExit(f"expected two computations, got {computed}")


def main() -> int:
    print(f"restflow tour on Python {sys.version.split()[0]}")
    configure_django()
    show_versions()
    show_settings()
    show_dispatchers()
    show_checks()
    show_jwt()
    show_cache()
    title("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
