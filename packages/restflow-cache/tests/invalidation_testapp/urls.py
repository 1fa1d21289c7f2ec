"""Mounted by the test bed at ``/invalidation_testapp/``."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("books/<int:pk>/", views.BookDetail.as_view()),
    path("my-notes/", views.MyNotes.as_view()),
    path("my-notes-async/", views.my_notes_async),
    path("member-notes/", views.MemberNotes.as_view()),
    path("book-titles/", views.BookTitles.as_view()),
]
