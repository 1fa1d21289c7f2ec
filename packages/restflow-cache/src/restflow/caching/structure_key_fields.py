"""Key fields that fingerprint a structure: a model's fields or a DRF serializer's
(nested serializers included), so a schema change moves every key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from restflow.caching.key_field_base import CacheKeyField

__all__ = ["DjangoModelKeyField", "DrfSerializerKeyField"]

_Func = Callable[..., Any]


class _StructureKeyField(CacheKeyField):
    """A hashed fingerprint, built on the first key and reused (a structure does not
    change while the process runs)."""

    def __init__(self) -> None:
        super().__init__(False, True, sort_lists=True)
        self._payload: dict[str, Any] | None = None

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if self._payload is None:
            self._payload = self._build()
        return self._payload

    def _build(self) -> dict[str, Any]:
        raise NotImplementedError


class DjangoModelKeyField(_StructureKeyField):
    """Fingerprint of a model's field names and field classes (hashed)."""

    def __init__(self, model_class: Any) -> None:
        super().__init__()
        self.model_class = model_class

    def _build(self) -> dict[str, Any]:
        from django.db import models

        model = self.model_class
        if model is None:
            return {}
        if not isinstance(model, type) or not hasattr(model, "_meta"):
            raise ValueError(f"Invalid model class: {model!r}")
        fields = {
            field.name: {"type": type(field).__name__}
            for field in model._meta.get_fields()
            if isinstance(field, models.Field)
        }
        return {
            "model_structure": {
                "name": model.__name__,
                "module": model.__module__,
                "fields": dict(sorted(fields.items())),
            }
        }


def _serializer_structure(serializer_class: Any) -> dict[str, Any]:
    from rest_framework import serializers

    try:
        instance = serializer_class()
    except Exception as exc:
        raise ValueError(
            f"Failed to initialize serializer class {serializer_class!r}: {exc}"
        ) from exc
    fields: dict[str, Any] = {}
    for name, field in sorted(instance.get_fields().items()):
        info: dict[str, Any] = {
            "type": type(field).__name__,
            "module": type(field).__module__,
            "properties": {},
        }
        if isinstance(field, serializers.ListSerializer):
            if isinstance(field.child, serializers.Serializer):
                info["list_child_serializer"] = _serializer_structure(type(field.child))
        elif isinstance(field, serializers.Serializer):
            info["nested_serializer"] = _serializer_structure(type(field))
        fields[name] = info
    return {"name": serializer_class.__name__, "module": serializer_class.__module__, "fields": fields}


class DrfSerializerKeyField(_StructureKeyField):
    """Fingerprint of a DRF serializer's fields, recursing into nested serializers (hashed)."""

    def __init__(self, serializer_class: Any) -> None:
        super().__init__()
        self.serializer_class = serializer_class

    def _build(self) -> dict[str, Any]:
        if self.serializer_class is None:
            return {}
        return {"serializer_structure": _serializer_structure(self.serializer_class)}
