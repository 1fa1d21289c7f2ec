"""A DRF view whose cached responses follow the books they show."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from restflow.caching import InvalidationRule, cache_response

from .models import Book


class BookDetail(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @cache_response(
        set_cache_headers=True,
        invalidates_on=[InvalidationRule(model=Book, field_mapping={"pk": "pk"})],
    )
    def get(self, request: Request, pk: int) -> Response:
        book = Book.objects.get(pk=pk)
        return Response({"title": book.title, "tags": sorted(t.name for t in book.tags.all())})
