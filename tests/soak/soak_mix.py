"""The workload's task weights, in one table: the locustfile runs them, the page names them.

Standard library only (the suite tests it in ``tests/soak_checks``, without Locust).

The demo's one async view, ``GET /api/books/<id>/summary/`` (restflow's ``aauthenticate``
and ``cache_response`` on a Django ``async def`` view), is in the mix only under an ASGI
server (``RESTFLOW_SOAK_SERVER=uvicorn``), where it runs on the event loop; it takes 20 of
the book detail's 40, so the reads stay about 90%. Under gunicorn the mix is unchanged
from the runs before it, so those figures stay comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

ASYNC_SERVERS = frozenset({"uvicorn"})
SUMMARY_WEIGHT = 20
SHARES = {"read": "about 90% reads", "write": "about half the tasks are writes"}


@dataclass(frozen=True)
class Task:
    name: str  # the method of the locustfile's CatalogueUser
    label: str  # how the page names it
    weight: int  # 0: not run
    read: bool = False


def tasks(mix: str, server: str) -> tuple[Task, ...]:
    """The tasks of ``mix`` (``read`` | ``write``) under ``server`` (``gunicorn`` |
    ``uvicorn``), in the order the page lists them. Refresh races and replays (``soak``
    only) are not part of a mix: the locustfile weighs them itself."""
    if mix not in SHARES:
        raise ValueError(f"mix {mix!r}: use one of {', '.join(SHARES)}")
    summary = SUMMARY_WEIGHT if server in ASYNC_SERVERS else 0
    return (
        Task("book_list", "book list", 25, read=True),
        Task("book_detail", "book detail", 40 - summary, read=True),
        Task("book_summary", "book summary (the async view)", summary, read=True),
        Task("authors", "authors", 10, read=True),
        Task("my_reviews", "my reviews", 5, read=True),
        Task("rating", "rating", 5, read=True),
        Task("write_price", "PATCH of a book's price", 90 if mix == "write" else 6),
        Task("sign_in", "login", 1),
        Task("rotate", "refresh with rotation", 3),
        Task("logout", "logout (blacklist the refresh token, then sign in again)", 1),
    )


def weights(mix: str, server: str) -> dict[str, int]:
    """Each task's weight (method name -> weight), as the locustfile's ``@task`` takes it."""
    return {t.name: t.weight for t in tasks(mix, server)}


def describe(mix: str, server: str) -> str:
    """The mix as the rig's page states it: the tasks that run and their weights."""
    listed = ", ".join(f"{t.label} {t.weight}" for t in tasks(mix, server) if t.weight)
    return f"`{mix}` (weights: {listed}: {SHARES[mix]})."
