"""``Meta`` of a key constructor, resolved: namespace, identifier, version and the
suffix-length options (docs/caching.md, Keys)."""

from __future__ import annotations

from typing import Any

from restflow.settings import restflow_settings

__all__ = ["KeyOptions"]

_UNSET: Any = object()
_OPTION_NAMES = (
    "namespace",
    "version",
    "key_identifier",
    "max_key_suffix_length",
    "hash_suffix_on_overflow",
)


class KeyOptions:
    """Resolved ``Meta`` of a key constructor (exposed as ``KeyConstructor._meta``).

    ``max_key_suffix_length`` and ``hash_suffix_on_overflow`` fall back to
    ``CACHE_SETTINGS`` and are read (and validated) on every access.
    """

    _raw: dict[str, Any]

    def __init__(self, meta: type | None, bases: list[KeyOptions]) -> None:
        if meta is not None:
            unknown = sorted(n for n in vars(meta) if not n.startswith("_") and n not in _OPTION_NAMES)
            if unknown:
                raise TypeError(
                    f"Meta got unknown options: {', '.join(map(repr, unknown))} "
                    f"(known: {', '.join(_OPTION_NAMES)})"
                )
        raw: dict[str, Any] = {}
        for name in _OPTION_NAMES:
            value = getattr(meta, name, _UNSET) if meta is not None else _UNSET
            if value is _UNSET:
                for base in bases:
                    value = base._raw.get(name, _UNSET)
                    if value is not _UNSET:
                        break
            if value is not _UNSET:
                raw[name] = value
        self._raw = raw
        self.namespace: str = raw.get("namespace", "")
        if not isinstance(self.namespace, str):
            raise TypeError(f"Meta.namespace must be a string, got {self.namespace!r}")
        self.key_identifier: str = raw.get("key_identifier", "")
        if not isinstance(self.key_identifier, str):
            raise TypeError(f"Meta.key_identifier must be a string, got {self.key_identifier!r}")
        self.version: int = _coerce_version(raw.get("version", 1))

    @property
    def max_key_suffix_length(self) -> int:
        value = self._raw.get("max_key_suffix_length")
        if value is None:
            value = restflow_settings.CACHE_SETTINGS.MAX_KEY_SUFFIX_LENGTH
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"max_key_suffix_length must be an integer, got {value!r}")
        return value

    @property
    def hash_suffix_on_overflow(self) -> bool:
        value = self._raw.get("hash_suffix_on_overflow")
        if value is None:
            value = restflow_settings.CACHE_SETTINGS.HASH_SUFFIX_ON_OVERFLOW
        if not isinstance(value, bool):
            raise TypeError(f"hash_suffix_on_overflow must be a boolean, got {value!r}")
        return value


def _coerce_version(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"Meta.version must be an integer, got {value!r}")
