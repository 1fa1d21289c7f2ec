"""The catalogue demo project (run it with ``python3 noxw.py -s demo``)."""

from __future__ import annotations

import os

if os.environ.get("RESTFLOW_DEMO_BROKER") == "celery":
    # The usual Celery + Django wiring: the app exists whenever Django starts, so the
    # web process publishes with the project's broker settings.
    from catalogue_project.celery import app as celery_app

    __all__ = ["celery_app"]
