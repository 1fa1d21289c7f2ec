"""The jobs a change in the demo sends to a broker dispatcher.

Run by ``test_demo_jobs.py`` in a process of its own with the demo's settings (see
``demo_process``). The demo's rules go to a recording dispatcher that batches as the
broker dispatchers do; each job is printed as a JSON line ``{"change", "rule_ids"}``
and then run inline, so that each change's effect on the cached answers shows too:
``{"change", "summary_status"}`` after a read of the book's summary.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar

from demo_process import run_seeded

CURRENT: dict[str, str] = {"change": ""}


def main() -> None:
    run_seeded(scenario)


def scenario() -> None:
    from catalogue.models import Book, Review
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from restflow.caching.tasks import run_cache_rules
    from restflow.dispatch.base import Dispatcher
    from restflow.dispatch.registry import register_dispatcher

    class Recording(Dispatcher):
        name: ClassVar[str] = "demo-recording"

        def _dispatch(self, *, rule_ids: list[str], rule_kwargs: dict[str, Any], **context: Any) -> None:
            print(json.dumps({"change": CURRENT["change"], "rule_ids": rule_ids}), flush=True)
            run_cache_rules(rule_ids, rule_kwargs, dispatcher_name=self.name)

    register_dispatcher(Recording)
    restflow = {**settings.RESTFLOW_SETTINGS}
    restflow["CACHE_SETTINGS"] = {**restflow["CACHE_SETTINGS"], "DEFAULT_DISPATCHER": Recording.name}
    with override_settings(RESTFLOW_SETTINGS=restflow):
        client = Client()
        tokens = client.post(
            "/api/auth/token/", {"username": "ada", "password": "ada-demo-password"},
            content_type="application/json",
        ).json()
        bearer = {"Authorization": f"Bearer {tokens['access']}"}
        book = Book.objects.get(title="Kindred")
        path = f"/api/books/{book.pk}/summary/"

        def read(change: str) -> None:
            status = client.get(path, headers=bearer)["X-Cache-status"]
            print(json.dumps({"change": change, "summary_status": status}), flush=True)

        read("before")
        read("before")
        CURRENT["change"] = "price"
        book.price = Decimal("12.34")
        book.save()
        read("price")
        read("price")
        CURRENT["change"] = "review"
        reader = get_user_model().objects.create_user("reader", password="reader-password")
        Review.objects.create(book=book, user=reader, rating=4)
        read("review")


if __name__ == "__main__":
    main()
