from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalogue.models import Author, Book, Review


class AuthorSerializer(serializers.ModelSerializer[Author]):
    books = serializers.IntegerField(source="books.count", read_only=True)

    class Meta:
        model = Author
        fields = ["id", "name", "born", "books"]


class BookSerializer(serializers.ModelSerializer[Book]):
    author_name = serializers.CharField(source="author.name", read_only=True)

    class Meta:
        model = Book
        fields = ["id", "title", "author", "author_name", "published", "price"]


class BookSummarySerializer(serializers.ModelSerializer[Book]):
    """A book's id, title and price, as ``BookSerializer`` writes them (the async summary)."""

    class Meta:
        model = Book
        fields = ["id", "title", "price"]


class ReviewSerializer(serializers.ModelSerializer[Review]):
    user = serializers.CharField(source="user.username", read_only=True)
    book_title = serializers.CharField(source="book.title", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "book", "book_title", "user", "rating", "text", "created"]
        read_only_fields = ["book"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        book, user = self.context.get("book"), self.context["request"].user
        if book is not None and Review.objects.filter(book=book, user=user).exists():
            raise serializers.ValidationError("You have already reviewed this book.")
        return attrs
