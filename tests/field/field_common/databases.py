"""``DATABASES`` of the field projects, chosen by ``RESTFLOW_FIELD_DB``.

| value | database |
|---|---|
| ``sqlite`` (default) | a SQLite file (``RESTFLOW_TEST_SQLITE_DIR`` or the temp dir) |
| ``postgres-rc`` | PostgreSQL at READ COMMITTED (psycopg 3, ``RESTFLOW_FIELD_PG_URL``) |
| ``postgres-rr`` | PostgreSQL at REPEATABLE READ |
| ``mariadb-rc`` | a private MariaDB at READ COMMITTED (Django's default for MySQL) |
| ``mariadb-rr`` | a private MariaDB at REPEATABLE READ (MariaDB's own default) |

The MariaDB port is unknown here: tests/field/conftest.py starts the server and fills it
in before the test database is created.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/restflow_field"
CHOICES = ("sqlite", "postgres-rc", "postgres-rr", "mariadb-rc", "mariadb-rr")


def chosen() -> str:
    name = os.environ.get("RESTFLOW_FIELD_DB", "sqlite")
    if name not in CHOICES:
        raise ValueError(f"RESTFLOW_FIELD_DB={name!r}: expected one of {', '.join(CHOICES)}")
    return name


def databases(project: str) -> dict[str, dict[str, object]]:
    kind = chosen()
    run = os.environ.get("RESTFLOW_TEST_RUN_ID", str(os.getpid()))
    if kind == "sqlite":
        where = Path(os.environ.get("RESTFLOW_TEST_SQLITE_DIR", tempfile.gettempdir()))
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(where / f"field-{project}-{run}.sqlite3"),
                "TEST": {"NAME": str(where / f"field-test-{project}-{run}.sqlite3")},
            }
        }
    if kind.startswith("postgres"):
        from psycopg import IsolationLevel

        parts = urlsplit(os.environ.get("RESTFLOW_FIELD_PG_URL") or DEFAULT_PG_URL)
        name = unquote(parts.path.lstrip("/")) or "restflow_field"
        level = IsolationLevel.READ_COMMITTED if kind == "postgres-rc" else IsolationLevel.REPEATABLE_READ
        return {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": name,
                "USER": unquote(parts.username or ""),
                "PASSWORD": unquote(parts.password or ""),
                "HOST": parts.hostname or "",
                "PORT": str(parts.port or ""),
                "OPTIONS": {"isolation_level": level},
                "TEST": {"NAME": f"test_{name}_{project}"},
            }
        }
    level = "read committed" if kind == "mariadb-rc" else "repeatable read"
    return {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "restflow_field",
            "USER": "root",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": "",  # filled in by the field conftest once its server runs
            "OPTIONS": {"isolation_level": level, "charset": "utf8mb4"},
            "TEST": {"NAME": f"test_restflow_field_{project}", "CHARSET": "utf8mb4"},
        }
    }
