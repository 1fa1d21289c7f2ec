"""Test app of restflow-dispatch-django-q (models for the end-to-end tests)."""

# django-q2 keeps task results and failures in ORM tables, even with the Redis broker.
REQUIRES_APPS = ["django_q"]
