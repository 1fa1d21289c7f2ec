"""``/api/auth/...`` token endpoints from restflow-jwt, ``/api/...`` the catalogue."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("api/auth/", include("restflow.authentication.urls")),
    path("api/", include("catalogue.urls")),
]
# /browser/: a page that signs in through cookies (catalogue_project/browser.py)
urlpatterns.append(path("", include("catalogue_project.browser")))
