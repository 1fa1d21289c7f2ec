"""``manage.py seed_catalogue [--migrate]``: two users, a few authors, books and a review."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from catalogue.models import Author, Book, Review

# Demo accounts (the tour signs in with them; so can you).
USERS = {"ada": "ada-demo-password", "grace": "grace-demo-password"}

CATALOGUE = {
    ("Ursula K. Le Guin", 1929): [
        ("A Wizard of Earthsea", 1968, "9.99"),
        ("The Left Hand of Darkness", 1969, "11.50"),
        ("The Dispossessed", 1974, "12.00"),
    ],
    ("Terry Pratchett", 1948): [
        ("Guards! Guards!", 1989, "8.99"),
        ("Small Gods", 1992, "9.50"),
    ],
    ("Octavia E. Butler", 1947): [
        ("Kindred", 1979, "10.99"),
        ("Parable of the Sower", 1993, "13.25"),
    ],
}


class Command(BaseCommand):
    help = "Create the demo users and catalogue (does nothing if the catalogue exists)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--migrate", action="store_true", help="run migrate first")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["migrate"]:
            call_command("migrate", verbosity=0)
        if Author.objects.exists():
            self.stdout.write("catalogue already seeded")
            return
        with transaction.atomic():
            users = {
                name: get_user_model().objects.create_user(name, password=password)
                for name, password in USERS.items()
            }
            for (name, born), books in CATALOGUE.items():
                author = Author.objects.create(name=name, born=born)
                for title, published, price in books:
                    Book.objects.create(title=title, author=author, published=published, price=Decimal(price))
            Review.objects.create(
                book=Book.objects.get(title="The Dispossessed"),
                user=users["grace"],
                rating=5,
                text="An ambiguous utopia, and a great one.",
            )
        self.stdout.write(
            f"seeded {Author.objects.count()} authors, {Book.objects.count()} books, "
            f"{Review.objects.count()} review, users {', '.join(USERS)}"
        )
