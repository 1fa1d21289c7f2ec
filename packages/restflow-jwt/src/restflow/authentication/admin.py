"""Admin for the database blacklist (read-mostly: rows are written by the API)."""

from __future__ import annotations

from django.contrib import admin

from restflow.authentication.models import BlacklistedToken


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(admin.ModelAdmin):
    list_display = ("jti", "expires_at", "created_at")
    search_fields = ("jti",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
