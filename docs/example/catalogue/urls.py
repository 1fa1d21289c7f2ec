from __future__ import annotations

from django.urls import path

from catalogue import views

urlpatterns = [
    path("authors/", views.AuthorList.as_view(), name="author-list"),
    path("authors/<int:author_id>/", views.AuthorDetail.as_view(), name="author-detail"),
    path("books/", views.BookList.as_view(), name="book-list"),
    path("books/<int:book_id>/", views.BookDetail.as_view(), name="book-detail"),
    path("books/<int:book_id>/summary/", views.book_summary, name="book-summary"),
    path("books/<int:book_id>/rating/", views.BookRating.as_view(), name="book-rating"),
    path("books/<int:book_id>/reviews/", views.BookReviews.as_view(), name="book-reviews"),
    path("me/reviews/", views.MyReviews.as_view(), name="my-reviews"),
]
