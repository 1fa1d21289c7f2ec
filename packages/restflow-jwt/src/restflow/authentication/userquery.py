"""The user lookup of every authenticated request, compiled once per database alias.

``Model._default_manager.get(field=value)`` builds and compiles the same SQL on every
request; that is most of the CPU an authenticated request costs. :class:`CompiledUserLookup`
compiles the default manager's queryset once and then only swaps the parameter, converts
the row with Django's own converters and builds the instance with ``Model.from_db``.

Only a queryset that cannot change between requests is compiled: the default manager's
class must keep Django's own ``get_queryset`` and ``QuerySet`` (``Manager``,
``UserManager``). A manager that overrides ``get_queryset`` may filter by the clock, a
thread-local tenant or anything else that varies, so it goes through the ORM on every
request. Querysets it cannot reproduce exactly (annotations, ``select_related``, extra
selects, parameters it cannot locate, any error while compiling) fall back to the ORM too.

The compiled query belongs to the alias, not to one connection object: Django makes a
connection object per thread, and ASGI servers (and servers that start a thread per
request) run each request in a new thread. Nothing kept here refers to a connection
object but Django's compiler and converters for the last one used (one per alias), so
the connection objects Django drops are collected.
"""

from __future__ import annotations

import uuid
import weakref
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.manager import BaseManager

__all__ = ["CompiledUserLookup", "UnsupportedLookup", "compiled_user_lookup"]


class UnsupportedLookup(Exception):
    """The default manager's queryset is not simple enough to precompile."""


# Sample values to compile with; the parameter is then located by value, so they are
# unlikely to equal a constant of the manager's own filter. Integers run from large to
# small so that one fits every integer column (Django turns a value outside the column's
# range into EmptyResultSet: a 32-bit AutoField on PostgreSQL or MySQL).
_PROBES: tuple[Any, ...] = (
    987_654_321_123,
    1_987_654_321,
    29_873,
    113,
    "restflow-probe-7c1a9e",
    uuid.UUID("7c1a9e00-0000-4000-8000-00000000abcd"),
)


def _static_manager(manager: Any) -> bool:
    """True when the manager's queryset is Django's, built the same way on every call."""
    return (
        type(manager).get_queryset is BaseManager.get_queryset
        and getattr(manager, "_queryset_class", None) is QuerySet
    )


def _in_range(value: Any, bounds: tuple[Any, Any] | None) -> bool:
    if bounds is None or not isinstance(value, int):
        return True
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def _prep(field: Any, value: Any, connection: Any) -> Any:
    return field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)


class CompiledUserLookup:
    """``SELECT … WHERE <field> = %s LIMIT 21`` of the default manager, for one alias."""

    def __init__(self, model: Any, field_name: str, field: Any, using: str) -> None:
        connection = connections[using]
        if not _static_manager(model._default_manager):
            raise UnsupportedLookup("the default manager builds its own queryset")
        self.model, self.field, self.using = model, field, using
        self.range = None
        internal = field.get_internal_type()
        if "Integer" in internal or internal.endswith("AutoField"):
            self.range = connection.ops.integer_field_range(internal)
        for probe in _PROBES:
            try:
                value = field.to_python(probe)
                if not _in_range(value, self.range):
                    continue
                prepped = _prep(field, value, connection)
            except Exception:  # noqa: S112 - this probe does not fit the field; try another
                continue
            try:
                self._compile(field_name, value, prepped, connection)
            except UnsupportedLookup:
                raise
            except Exception as exc:  # EmptyResultSet, FullResultSet, a backend's own error
                raise UnsupportedLookup(f"compiling the lookup failed: {exc!r}") from exc
            return
        raise UnsupportedLookup(field_name)

    def _compile(self, field_name: str, value: Any, prepped: Any, connection: Any) -> None:
        queryset = self.model._default_manager.db_manager(self.using).filter(**{field_name: value})
        query = queryset.query
        extended = query.select_related or query.annotations or query.extra
        if extended or queryset._prefetch_related_lookups:
            raise UnsupportedLookup("queryset selects more than the model")
        query.set_limits(high=21)
        compiler = query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        positions = [i for i, param in enumerate(params) if param == prepped]
        if len(positions) != 1 or compiler.annotation_col_map or not compiler.klass_info:
            raise UnsupportedLookup("cannot locate the lookup parameter")
        if compiler.klass_info["select_fields"] != list(range(len(compiler.select))):
            raise UnsupportedLookup("the query selects columns of other models")
        self.sql, self.params, self.index = sql, list(params), positions[0]
        self.init_list = [column[0].target.attname for column in compiler.select]
        self.query, self.columns = query, [column[0] for column in compiler.select]
        self._kept: tuple[Any, Any, dict[int, Any]] | None = None

    def _compiler_of(self, connection: Any) -> tuple[Any, dict[int, Any]]:
        """Django's compiler of the query on ``connection`` and its converters (no SQL
        is compiled again), kept for the last connection used."""
        kept = self._kept
        if kept is None or kept[0]() is not connection:
            compiler = self.query.get_compiler(connection=connection)
            kept = self._kept = (weakref.ref(connection), compiler, compiler.get_converters(self.columns))
        return kept[1], kept[2]

    def fetch(self, value: Any) -> list[Any]:
        """The users whose field equals ``value`` (already ``to_python``-converted)."""
        if not _in_range(value, self.range):
            return []
        connection = connections[self.using]
        params = list(self.params)
        params[self.index] = _prep(self.field, value, connection)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if rows:
            compiler, converters = self._compiler_of(connection)
            if converters:
                rows = list(compiler.apply_converters(rows, converters))
        return [self.model.from_db(self.using, self.init_list, row) for row in rows]


_MISSING = object()


def compiled_user_lookup(model: Any, field_name: str, field: Any, cache: Any) -> Any:
    """The :class:`CompiledUserLookup` of the alias the router reads ``model`` from, or
    ``None`` when it cannot be compiled.

    ``cache`` is a dict owned by the settings snapshot (so a settings change forgets
    it), keyed by the model and the alias.
    """
    alias = router.db_for_read(model) or "default"
    key = (model, field_name, alias)
    lookup = cache.get(key, _MISSING)
    if lookup is _MISSING:
        try:
            lookup = CompiledUserLookup(model, field_name, field, alias)
        except UnsupportedLookup:
            lookup = None
        cache[key] = lookup
    return lookup
