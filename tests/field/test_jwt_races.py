"""Processes racing one refresh token (issue 16): the project's blacklist on the cell's
database (stock: the model backend on SQLite, PostgreSQL or MariaDB; custom: Redis).

Fifty refreshes with one token from five worker processes (two on SQLite, which takes
one writer at a time) started at the same instant: without a grace window exactly one
new pair is minted and the other 49 are reuse, which revokes the family, so the winner's
pair dies too; inside the window every racer gets that same pair and the family lives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from field_common.race import race_in_processes
from test_jwt import me, obtain

pytestmark = pytest.mark.django_db(transaction=True)

N = 50


def _processes() -> int:
    return 2 if connection.vendor == "sqlite" else 5


def _worker_config(settings: Any) -> dict[str, Any]:
    """What a worker needs beyond the cell's settings module: this run's test database
    (and private MariaDB port), the caches on the private Redis, the JWT settings."""
    database = connection.settings_dict
    return {
        "DATABASE": {key: database[key] for key in ("NAME", "HOST", "PORT", "USER", "PASSWORD")},
        "CACHES": settings.CACHES,
        "RESTFLOW_SETTINGS": settings.RESTFLOW_SETTINGS,
    }


def _refresh(api: Any, token: str) -> Any:
    return api.post("/auth/token/refresh/", {"refresh": token}, format="json")


@pytest.mark.parametrize("grace", [0, 60], ids=["no-grace", "grace"])
def test_processes_racing_one_refresh_token(
    api: Any, alice: Any, settings: Any, tmp_path: Path, grace: int
) -> None:
    settings.RESTFLOW_SETTINGS = {
        "JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "ROTATION_GRACE_PERIOD": grace}
    }
    pair = obtain(api, alice)
    statuses, bodies, logged = race_in_processes(
        _worker_config(settings), pair["refresh"], tmp_path, processes=_processes(), total=N
    )
    children = {(body["access"], body["refresh"]) for body in bodies}
    assert len(children) == 1, f"{len(children)} different pairs minted from one refresh token"
    ((access, child),) = children
    assert child != pair["refresh"]
    if grace:
        assert statuses == [200] * N, (sorted(statuses), logged)
        assert me(api, access).json() == {"user": alice.name}
        assert _refresh(api, child).status_code == 200, "the family must live on"
    else:
        assert sorted(statuses) == [200] + [401] * (N - 1), (sorted(statuses), logged)
        again = _refresh(api, child)  # the losers were reuse: the family is revoked
        assert again.status_code == 401, again.content
        assert again.json()["detail"] == "Session has been revoked."
        assert me(api, access).status_code == 401
    assert me(api, pair["access"]).status_code == (200 if grace else 401)
