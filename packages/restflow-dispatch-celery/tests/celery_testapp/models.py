"""Models whose writes are invalidated through Celery in the end-to-end tests (see
:mod:`restflow_testbed.broker_app`)."""

from __future__ import annotations

from restflow_testbed.broker_app import declare_models

Note, Sticker, Shelf = declare_models(__name__)
