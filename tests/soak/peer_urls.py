"""The same URLs as the demo (docs/example), served by the peers' build."""

from __future__ import annotations

import peer_views as views
from django.urls import path
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

urlpatterns = [
    path("api/auth/token/", TokenObtainPairView.as_view()),
    path("api/auth/token/refresh/", TokenRefreshView.as_view()),
    path("api/auth/token/verify/", TokenVerifyView.as_view()),
    path("api/auth/token/blacklist/", TokenBlacklistView.as_view()),
    path("api/authors/", views.AuthorList.as_view()),
    path("api/authors/<int:author_id>/", views.AuthorDetail.as_view()),
    path("api/books/", views.BookList.as_view()),
    path("api/books/<int:book_id>/", views.BookDetail.as_view()),
    path("api/books/<int:book_id>/summary/", views.BookSummary.as_view()),
    path("api/books/<int:book_id>/rating/", views.BookRating.as_view()),
    path("api/books/<int:book_id>/reviews/", views.BookReviews.as_view()),
    path("api/me/reviews/", views.MyReviews.as_view()),
]
