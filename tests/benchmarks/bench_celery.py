"""``celery -A bench_celery worker``: Django set up, then the bench Celery app."""

import django

django.setup()

from bench_tasks import celery_app  # noqa: E402

app = celery_app()
