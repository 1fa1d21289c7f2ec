"""URLs of the cache test app, mounted at ``/cache_testapp/`` (append new routes)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from rest_framework.routers import SimpleRouter

from cache_testapp import views


def _route(route: str, view: Any) -> URLPattern:
    """A route to a view function or class (``as_view()``)."""
    return path(route, view.as_view() if isinstance(view, type) else view)


urlpatterns = [
    _route("books/<int:pk>/", views.BookView),
    _route("profile/", views.ProfileView),
    _route("leaky-profile/", views.LeakyProfileView),
    _route("public/", views.PublicView),
    _route("status/<int:code>/", views.StatusView),
    _route("configured-status/<int:code>/", views.ConfiguredStatusView),
    _route("cookie/", views.CookieView),
    _route("private/<str:directive>/", views.PrivateView),
    _route("stream/", views.StreamView),
    _route("plain/", views.PlainView),
    _route("write/", views.WriteView),
    _route("function/<int:pk>/", views.book_function),
    _route("filtered/", views.ErrorFilteredView),
    _route("vary-cookie/", views.VaryCookieView),
    _route("csrf/", views.CsrfView),
    _route("titles/<int:pk>/", views.BookTitleView),
    _route("title-function/<int:pk>/", views.book_title_function),
    _route("book-list/", views.BookListView),
    _route("django-search/", views.django_search),
    _route("shape/req/", views.ShapeReqView),
    _route("shape/args/", views.ShapeArgsView),
    _route("shape/request/", views.ShapeRequestView),
    _route("shape/api-function/", views.shape_api_function),
    _route("shape/django-function/", views.shape_django_function),
    _route("shape/django-view/", views.ShapeDjangoView),
    _route("shape/async-function/", views.shape_async_function),
    _route("shape/django-view-direct/", views.ShapeDjangoViewDirect),
    _route("session-echo/", views.session_echo),
    _route("absolute/", views.AbsoluteUriView),
    _route("echo-query/", views.EchoQueryView),
    _route("browsable/<int:pk>/", views.BrowsableBookView),
    _route("book-list-req/", views.BookListReqView),
    _route("book-list-function/", views.book_list_function),
    _route("staff-flag/", views.StaffFlagView),
    _route("whole-user/", views.WholeUserView),
]

_router = SimpleRouter()
_router.register("shape/viewset", views.ShapeViewSet, basename="shape-viewset")
urlpatterns += _router.urls
