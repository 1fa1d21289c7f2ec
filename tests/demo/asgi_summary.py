"""The demo's async summary through Django's ``AsyncClient`` (its ASGI handler, in process).

Run by ``test_async_summary.py`` in a process of its own, with the demo's settings
(``DJANGO_SETTINGS_MODULE=catalogue_project.settings``, ``docs/example`` on the path):
Django's test environment and test database (created, migrated and seeded here, dropped
at the end), then one scenario, each answer printed as a JSON line
``{"step", "status", "headers", "body"}`` for the test to check.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from demo_process import run_seeded

PASSWORD = "ada-demo-password"  # seed_catalogue's user ada


def show(step: str, response: Any) -> dict[str, Any]:
    answer = {
        "step": step,
        "status": response.status_code,
        "headers": dict(response.items()),
        "body": response.content.decode(),
    }
    print(json.dumps(answer), flush=True)
    return answer


async def scenario() -> None:
    from catalogue.models import Book
    from django.test import AsyncClient

    client = AsyncClient()
    book = await Book.objects.aget(title="Kindred")
    path = f"/api/books/{book.pk}/summary/"
    show("no token", await client.get(path))
    login = {"username": "ada", "password": PASSWORD}
    signed_in = await client.post("/api/auth/token/", login, content_type="application/json")
    tokens = json.loads(show("sign in", signed_in)["body"])
    bearer = {"Authorization": f"Bearer {tokens['access']}"}
    show("first read", await client.get(path, headers=bearer))
    show("second read", await client.get(path, headers=bearer))
    patch = await client.patch(
        f"/api/books/{book.pk}/", {"price": "31.40"}, content_type="application/json", headers=bearer
    )
    show("patch", patch)
    show("read after the patch", await client.get(path, headers=bearer))
    logout = {"refresh": tokens["refresh"]}
    show("logout", await client.post("/api/auth/token/blacklist/", logout, content_type="application/json"))
    show("read after the logout", await client.get(path, headers=bearer))


def main() -> None:
    run_seeded(lambda: asyncio.run(scenario()))


if __name__ == "__main__":
    main()
