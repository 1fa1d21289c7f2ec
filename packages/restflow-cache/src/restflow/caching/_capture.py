"""What a save or delete tells a rule, captured while the signal runs.

Gates (``trigger_on_create``, ``watch_fields``, ``invalidate_when``, ``require_args``),
the function keyword arguments read from the instance (``field_mapping``), and the values
an instance was loaded with (for ``watch_fields`` on a plain ``save()`` and for partition
moves). Everything here is pure: no cache and no database writes.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from restflow.caching.rules import InvalidationRule

#: Attribute on a model instance holding ``{attname: value}`` as loaded from the database.
LOADED_ATTR = "_restflow_loaded"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


# --------------------------------------------------------------------- JSON payloads


def to_json(value: Any) -> Any:
    """``value`` as a JSON-native value, so every dispatcher can carry it.

    ``str``/``int``/``bool``/``None`` and finite floats pass; ``UUID``, ``Decimal``,
    non-finite floats and anything unknown become ``str``; dates and times become ISO
    8601 strings; model instances ``"<app label>.<Model>#<pk>"`` (as key fields render
    them); enums their value; lists, tuples and sets lists; dicts dicts with ``str`` keys.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(item) for item in value]
    meta = getattr(type(value), "_meta", None)
    if meta is not None and hasattr(value, "pk"):
        # Key fields render a model instance as "<label>#<pk>"; the string meets it.
        return f"{meta.label}#{to_json(value.pk)}"
    return str(value)


# --------------------------------------------------------------------- field mapping


def get_field_value(obj: Any, path: str) -> Any:
    """Walk ``path`` (``"author.team_id"``) with ``getattr``; ``None`` when a step is."""
    current = obj
    for part in path.split("."):
        if current is None:
            return None
        current = getattr(current, part, None)
    return current


def resolve_kwargs(
    instance: Any, rule: InvalidationRule, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The function kwargs for ``rule`` read from ``instance``, or ``None`` to skip.

    ``overrides`` maps mapping paths to values to use instead of reading the instance
    (the loaded values, for the old side of a partition move).
    """
    if not rule.field_mapping:
        return {}
    if instance is None:
        return None
    kwargs: dict[str, Any] = {}
    for arg, path in rule.field_mapping.items():
        if overrides is not None and path in overrides:
            kwargs[arg] = overrides[path]
        else:
            kwargs[arg] = get_field_value(instance, path)
    if not _required_present(rule.require_args, kwargs):
        return None
    return kwargs


def _required_present(require_args: bool | list[str], kwargs: Mapping[str, Any]) -> bool:
    if require_args is True:
        return all(value is not None for value in kwargs.values())
    if require_args is False:
        return True
    return all(kwargs.get(name) is not None for name in require_args)


# --------------------------------------------------------------------- gates


def watched_fields_in_update(
    watch_fields: Iterable[str] | None, update_fields: Iterable[str] | None = None
) -> bool:
    """The ``save(update_fields=...)`` form of the ``watch_fields`` gate."""
    if not watch_fields:
        return True
    if update_fields is None:
        return False
    return bool(set(watch_fields) & set(update_fields))


def field_names(model: type, names: Iterable[str] | None) -> frozenset[str] | None:
    """``names`` with column attnames (``author_id``) replaced by field names (``author``),
    as ``save(update_fields=...)`` accepts both."""
    if names is None:
        return None
    meta = getattr(model, "_meta", None)
    if meta is None:
        return frozenset(names)
    by_attname = {f.attname: f.name for f in meta.concrete_fields}
    return frozenset(by_attname.get(name, name) for name in names)


def invalidate_when_holds(instance: Any, conditions: Mapping[str, Any]) -> bool:
    """Every ``invalidate_when`` entry holds (``!name`` negates)."""
    for key, expected in conditions.items():
        negate = key.startswith("!")
        name = key[1:] if negate else key
        actual = getattr(instance, name, MISSING)
        matches = actual is None if expected is None else _equal(actual, expected)
        if matches == negate:
            return False
    return True


def _equal(actual: Any, expected: Any) -> bool:
    if actual is MISSING:
        return False
    try:
        return bool(actual == expected)
    except Exception:
        return False


# --------------------------------------------------------------------- loaded values


def _concrete_attname(model: type, name: str) -> str | None:
    """The column attribute behind field ``name`` (or attname) of ``model``, if any."""
    meta = getattr(model, "_meta", None)
    if meta is None:
        return None
    for field in meta.concrete_fields:
        if name in (field.name, field.attname):
            return str(field.attname)
    return None


@functools.lru_cache(maxsize=1024)  # read on every save of a model with a partition
def _path_attname(model: type, path: str) -> str | None:
    """The column whose value ``path`` reads, for ``"x"``, ``"x_id"``, ``"fk.pk"``."""
    parts = path.split(".")
    meta = getattr(model, "_meta", None)
    if len(parts) == 1 and parts[0] == "pk":
        return str(meta.pk.attname) if meta is not None and meta.pk is not None else None
    if len(parts) == 1:
        return _concrete_attname(model, parts[0])
    if len(parts) != 2 or meta is None:
        return None
    for field in meta.concrete_fields:
        if field.name == parts[0] and getattr(field, "many_to_one", False):
            target = field.target_field
            if parts[1] in ("pk", target.name, target.attname) and target.primary_key:
                return str(field.attname)
            return None
    return None


def relation_names(model: type) -> frozenset[str]:
    """Names under which many-to-many changes of ``model`` are reported (both sides)."""
    meta = getattr(model, "_meta", None)
    if meta is None:
        return frozenset()
    names = {field.name for field in meta.many_to_many}
    for relation in meta.related_objects:
        if relation.many_to_many:
            accessor = relation.get_accessor_name()
            if accessor:
                names.add(accessor)
    return frozenset(names)


def tracked_attnames(model: type, rules: Iterable[InvalidationRule]) -> frozenset[str]:
    """The columns whose loaded values the rules of ``model`` need to remember."""
    names: set[str] = set()
    for rule in rules:
        for watched in rule.watch_fields or ():
            attname = _concrete_attname(model, watched)
            if attname:
                names.add(attname)
        for path in rule.field_mapping.values():
            attname = _path_attname(model, path)
            if attname:
                names.add(attname)
    return frozenset(names)


def remember_loaded(instance: Any, attnames: Iterable[str]) -> None:
    """Store the current column values of ``instance`` as its loaded values."""
    values = instance.__dict__
    values[LOADED_ATTR] = {name: values[name] for name in attnames if name in values}


def written_values(
    instance: Any, attnames: Iterable[str], update_fields: Iterable[str] | None
) -> dict[str, Any]:
    """The tracked column values a save just wrote (only ``update_fields`` if given)."""
    values = instance.__dict__
    wanted = set(attnames)
    if update_fields is not None:
        model = type(instance)
        wanted &= {_concrete_attname(model, name) or name for name in update_fields}
    return {name: values[name] for name in wanted if name in values}


class RememberWritten:
    """Applied on commit: the written values become the instance's loaded values."""

    __slots__ = ("instance", "replace", "values")

    def __init__(self, instance: Any, values: dict[str, Any], replace: bool) -> None:
        self.instance = instance
        self.values = values
        self.replace = replace

    def run(self) -> None:
        current = loaded_values(self.instance)
        base = {} if self.replace or current is None else current
        self.instance.__dict__[LOADED_ATTR] = {**base, **self.values}


def loaded_values(instance: Any) -> dict[str, Any] | None:
    loaded = instance.__dict__.get(LOADED_ATTR) if hasattr(instance, "__dict__") else None
    return loaded if isinstance(loaded, dict) else None


def watched_attnames(model: type, watch_fields: Iterable[str]) -> tuple[str, ...]:
    """The columns behind ``watch_fields`` for :func:`watched_changed` (many-to-many
    relations left out: ``save()`` never writes them; ``""`` for an unknown name)."""
    relations = relation_names(model)
    names: list[str] = []
    for name in watch_fields:
        attname = _concrete_attname(model, name)
        if attname is not None or name not in relations:
            names.append(attname or "")
    return tuple(names)


def watched_changed(instance: Any, attnames: tuple[str, ...]) -> bool:
    """A plain ``save()``: did a watched column change since the instance was loaded?
    Unknown (no loaded value, ``""``: not a column) counts as changed."""
    loaded = loaded_values(instance)
    if loaded is None:
        return True
    values = instance.__dict__
    for attname in attnames:
        if attname not in loaded:
            return True
        current = values.get(attname, MISSING)
        if current is not MISSING and not _equal(current, loaded[attname]):
            return True  # (MISSING: deferred and never read, so not written either)
    return False


def previous_overrides(instance: Any, rule: InvalidationRule) -> dict[str, Any] | None:
    """Mapping path -> loaded value, for the paths whose value changed since loading."""
    loaded = loaded_values(instance)
    if loaded is None:
        return None
    model: type = type(instance)
    overrides: dict[str, Any] = {}
    for path in rule.field_mapping.values():
        attname = _path_attname(model, path)
        if attname is None or attname not in loaded:
            continue
        current = instance.__dict__.get(attname, MISSING)
        if current is not MISSING and not _equal(current, loaded[attname]):
            overrides[path] = loaded[attname]
    return overrides or None
