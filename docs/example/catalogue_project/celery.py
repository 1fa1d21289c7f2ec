"""The Celery app of the demo (``--broker celery``): ``celery -A catalogue_project worker``.

Its broker is the demo's Redis; ``autodiscover_tasks()`` finds restflow's task in
``restflow.caching.tasks`` because ``restflow.caching`` is an installed app.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue_project.settings")

app = Celery("catalogue_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
