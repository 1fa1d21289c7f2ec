"""Mounted by the test bed at ``/invalidation_testapp/``."""

from __future__ import annotations

from django.urls import path

from .views import BookDetail

urlpatterns = [path("books/<int:pk>/", BookDetail.as_view())]
