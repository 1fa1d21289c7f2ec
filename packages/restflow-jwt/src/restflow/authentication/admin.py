"""Admin for the database blacklist and the session registry (rows are written by the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from restflow.authentication.models import BlacklistedToken, TokenSession


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(admin.ModelAdmin):
    list_display = ("jti", "expires_at", "created_at")
    search_fields = ("jti",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)


@admin.register(TokenSession)
class TokenSessionAdmin(admin.ModelAdmin):
    list_display = ("sid", "user", "created_at", "last_used_at", "expires_at", "revoked_at", "revoke_reason")
    list_filter = ("revoke_reason",)
    search_fields = ("sid",)
    ordering = ("-last_used_at",)
    readonly_fields = (
        "sid", "user", "created_at", "last_used_at", "expires_at", "user_agent", "ip_address",
        "revoked_at", "revoke_reason",
    )
    actions = ("revoke",)

    @admin.action(description="Revoke the selected sessions (their tokens stop working)")
    def revoke(self, request: Any, queryset: Any) -> None:
        from restflow.authentication.sessions import end_sessions

        sids = list(queryset.filter(revoked_at=None).values_list("sid", flat=True))
        ended = end_sessions(sids, reason="admin")
        self.message_user(request, f"Revoked {ended} session(s).")

    def has_add_permission(self, request: Any) -> bool:
        return False
