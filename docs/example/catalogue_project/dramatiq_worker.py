"""What the Dramatiq worker imports (``--broker dramatiq``):
``dramatiq catalogue_project.dramatiq_worker --queues restflow-demo``.

Django is set up first (the catalogue app points Dramatiq at the demo's Redis in its
``ready()``), then restflow's actor is declared on the queue named in the settings.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue_project.settings")
django.setup()

import restflow.dispatch.dramatiq.actors  # noqa: E402, F401
