"""Request bodies of the token views."""

from __future__ import annotations

from rest_framework import serializers

__all__ = [
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
