"""Cached functions invalidated through the dramatiq dispatcher: the end-to-end set of
:mod:`restflow_testbed.broker_app` (found by auto-discovery in the test process and in the
worker processes alike)."""

from __future__ import annotations

from restflow_testbed.broker_app import declare_cached

from .models import Note, Shelf, Sticker

declare_cached(__name__, "dramatiq", note=Note, sticker=Sticker, shelf=Shelf)
