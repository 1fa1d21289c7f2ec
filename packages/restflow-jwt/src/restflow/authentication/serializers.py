"""Request bodies of the token views."""

from __future__ import annotations

from rest_framework import serializers

__all__ = [
    "LogoutAllSerializer",
    "SessionSerializer",
    "TokenBlacklistSerializer",
    "TokenObtainSerializer",
    "TokenRefreshSerializer",
    "TokenVerifySerializer",
]


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenRefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenBlacklistSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenVerifySerializer(serializers.Serializer):
    token = serializers.CharField()


class SessionSerializer(serializers.Serializer):
    """One live session of the user; ``current`` marks the one the request came with."""

    id = serializers.CharField(source="sid", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    user_agent = serializers.CharField(read_only=True)
    ip_address = serializers.IPAddressField(read_only=True, allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, session: object) -> bool:
        return bool(getattr(session, "sid", None) == self.context.get("current_sid"))


class LogoutAllSerializer(serializers.Serializer):
    keep_current = serializers.BooleanField(default=False)
