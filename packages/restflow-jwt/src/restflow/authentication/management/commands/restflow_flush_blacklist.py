"""``manage.py restflow_flush_blacklist``: delete expired blacklist rows in bounded batches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from restflow.authentication.models import BlacklistedToken, TokenSession


class Command(BaseCommand):
    help = (
        "Delete BlacklistedToken rows (revoked tokens and sessions) and TokenSession rows "
        "whose token expired more than LEEWAY ago, in batches so that no single statement "
        "locks a table for long."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows per DELETE (default 1000)."
        )
        parser.add_argument(
            "--max-batches", type=int, default=None, help="Stop after this many batches."
        )

    def handle(self, *args: Any, batch_size: int, max_batches: int | None, **options: Any) -> None:
        if batch_size < 1:
            self.stderr.write("--batch-size must be at least 1")
            raise SystemExit(2)
        total = batches = 0
        for model in (BlacklistedToken, TokenSession):
            while max_batches is None or batches < max_batches:
                ids = list(model.expired().order_by("pk").values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                deleted, _ = model.objects.filter(pk__in=ids).delete()
                total += deleted
                batches += 1
        self.stdout.write(f"Deleted {total} expired blacklisted token(s) in {batches} batch(es).")
