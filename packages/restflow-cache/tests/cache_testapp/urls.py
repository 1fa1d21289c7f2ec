"""URLs of the cache test app, mounted at ``/cache_testapp/`` (append new routes)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from cache_testapp import views

urlpatterns = [
    path("books/<int:pk>/", views.BookView.as_view()),
    path("profile/", views.ProfileView.as_view()),
    path("leaky-profile/", views.LeakyProfileView.as_view()),
    path("public/", views.PublicView.as_view()),
    path("status/<int:code>/", views.StatusView.as_view()),
    path("configured-status/<int:code>/", views.ConfiguredStatusView.as_view()),
    path("cookie/", views.CookieView.as_view()),
    path("private/<str:directive>/", views.PrivateView.as_view()),
    path("stream/", views.StreamView.as_view()),
    path("plain/", views.PlainView.as_view()),
    path("write/", views.WriteView.as_view()),
    path("function/<int:pk>/", views.book_function),
    path("filtered/", views.ErrorFilteredView.as_view()),
    path("vary-cookie/", views.VaryCookieView.as_view()),
    path("csrf/", views.CsrfView.as_view()),
    path("titles/<int:pk>/", views.BookTitleView.as_view()),
    path("title-function/<int:pk>/", views.book_title_function),
    path("book-list/", views.BookListView.as_view()),
    path("django-search/", views.django_search),
    path("shape/req/", views.ShapeReqView.as_view()),
    path("shape/args/", views.ShapeArgsView.as_view()),
    path("shape/request/", views.ShapeRequestView.as_view()),
    path("shape/api-function/", views.shape_api_function),
    path("shape/django-function/", views.shape_django_function),
    path("shape/django-view/", views.ShapeDjangoView.as_view()),
    path("shape/async-function/", views.shape_async_function),
    path("shape/django-view-direct/", views.ShapeDjangoViewDirect.as_view()),
    path("session-echo/", views.session_echo),
    path("absolute/", views.AbsoluteUriView.as_view()),
    path("echo-query/", views.EchoQueryView.as_view()),
    path("browsable/<int:pk>/", views.BrowsableBookView.as_view()),
    path("book-list-req/", views.BookListReqView.as_view()),
    path("book-list-function/", views.book_list_function),
    path("staff-flag/", views.StaffFlagView.as_view()),
    path("whole-user/", views.WholeUserView.as_view()),
]

_router = SimpleRouter()
_router.register("shape/viewset", views.ShapeViewSet, basename="shape-viewset")
urlpatterns += _router.urls
