"""Receivers of the registry: ``post_save``, ``post_delete``, ``post_init``, ``m2m_changed``.

A receiver plans the change (``_planning``) against the registry's rules for the model,
schedules the work for the commit of the alias written (``_commit``), and remembers what
a save wrote for the next comparison of ``watch_fields`` and partition moves.

Each model's receivers are connected once, with ``sender=model`` (the exact class) and a
``dispatch_uid`` naming the model, so re-registering never connects twice. ``post_init``
is connected only for models whose rules need the values an instance was loaded with
(``watch_fields`` and partition moves). ``m2m_changed`` has one receiver for the process
that ignores relations between models without rules.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import router, transaction
from django.db.models import signals

from restflow.caching import _capture, _planning
from restflow.caching._commit import CommitBatch, schedule
from restflow.caching.rules import RuleIndex, SignalType

_M2M_UID = "restflow.caching:m2m_changed"
_CLEAR_ATTR = "_restflow_m2m_clear"


def _uid(kind: str, model: type) -> str:
    return f"restflow.caching:{kind}:{model.__module__}.{model.__qualname__}"


def handle_change(
    registry: RuleIndex,
    model: type,
    instance: Any,
    signal_type: SignalType,
    created: bool = False,
    update_fields: Any = None,
    using: str | None = None,
) -> None:
    """Evaluate the rules of ``model`` now; run their work after the commit."""
    fields = frozenset(update_fields) if update_fields is not None else None
    work = _planning.plan(
        instance, model, registry.rules_for(model), created, signal_type, fields
    )
    alias = using or router.db_for_write(model, instance=instance)
    remember = None
    if signal_type is SignalType.POST_SAVE:
        tracked = registry.tracked(model)
        if tracked:
            # What the save wrote becomes "loaded" once committed: a rolled-back save
            # leaves the old values, so the next save still sees the change.
            written = _capture.written_values(instance, tracked, fields)
            remember = _capture.RememberWritten(instance, written, replace=fields is None)
    if work is not None:
        # One on_commit callback per change: the batch runs ``remember`` after its work.
        schedule(CommitBatch([work], after=remember), alias)
    elif remember is not None:
        transaction.on_commit(remember.run, using=alias, robust=True)


def connect_model(registry: RuleIndex, model: type) -> None:
    def on_save(
        sender: type,
        instance: Any,
        created: bool = False,
        update_fields: Any = None,
        using: str | None = None,
        **kwargs: Any,
    ) -> None:
        handle_change(
            registry, sender, instance, SignalType.POST_SAVE, bool(created), update_fields, using
        )

    def on_delete(sender: type, instance: Any, using: str | None = None, **kwargs: Any) -> None:
        handle_change(registry, sender, instance, SignalType.POST_DELETE, using=using)

    signals.post_save.connect(on_save, sender=model, weak=False, dispatch_uid=_uid("save", model))
    signals.post_delete.connect(
        on_delete, sender=model, weak=False, dispatch_uid=_uid("delete", model)
    )
    signals.m2m_changed.connect(_make_m2m_receiver(registry), weak=False, dispatch_uid=_M2M_UID)


def connect_tracking(registry: RuleIndex, model: type) -> None:
    def on_init(sender: type, instance: Any, **kwargs: Any) -> None:
        attnames = registry.tracked(sender)
        if attnames:
            _capture.remember_loaded(instance, attnames)

    def on_pre_save(sender: type, instance: Any, **kwargs: Any) -> None:
        # An instance built in Python (not loaded) knows nothing of the stored values.
        state = getattr(instance, "_state", None)
        if state is not None and state.adding:
            instance.__dict__.pop(_capture.LOADED_ATTR, None)

    signals.post_init.connect(on_init, sender=model, weak=False, dispatch_uid=_uid("init", model))
    signals.pre_save.connect(
        on_pre_save, sender=model, weak=False, dispatch_uid=_uid("pre_save", model)
    )


def disconnect_model(model: type) -> None:
    signals.post_save.disconnect(sender=model, dispatch_uid=_uid("save", model))
    signals.post_delete.disconnect(sender=model, dispatch_uid=_uid("delete", model))
    signals.post_init.disconnect(sender=model, dispatch_uid=_uid("init", model))
    signals.pre_save.disconnect(sender=model, dispatch_uid=_uid("pre_save", model))


def disconnect_m2m() -> None:
    signals.m2m_changed.disconnect(dispatch_uid=_M2M_UID)


_INACTIVE_UID = "restflow.caching:inactive-check"


def connect_inactive_check(registry: RuleIndex) -> None:
    """On the first request, warn if rules were declared but never connected."""
    from django.core.signals import request_started

    def on_request(**kwargs: Any) -> None:
        request_started.disconnect(dispatch_uid=_INACTIVE_UID)
        registry.warn_if_inactive()

    request_started.connect(on_request, weak=False, dispatch_uid=_INACTIVE_UID)


# --------------------------------------------------------------------- many-to-many


def _m2m_field(through: type, instance: Any, model: type, reverse: bool) -> Any:
    forward = model if reverse else type(instance)
    meta = getattr(forward, "_meta", None)
    if meta is None:
        return None
    for field in meta.many_to_many:
        if getattr(field.remote_field, "through", None) is through:
            return field
    return None


def _make_m2m_receiver(registry: RuleIndex) -> Any:
    def on_m2m_changed(
        sender: type,
        instance: Any,
        action: str,
        reverse: bool,
        model: type,
        pk_set: set[Any] | None,
        using: str,
        **kwargs: Any,
    ) -> None:
        here = bool(registry.rules_for(type(instance)))
        there = bool(registry.rules_for(model))
        if not (here or there) or action not in ("pre_clear", "post_add", "post_remove", "post_clear"):
            return
        field = _m2m_field(sender, instance, model, reverse)
        if field is None:
            return
        accessor = field.remote_field.get_accessor_name() or field.name
        name_here, name_there = (accessor, field.name) if reverse else (field.name, accessor)
        if action == "pre_clear":
            if there:
                related = getattr(instance, name_here).using(using).values_list("pk", flat=True)
                instance.__dict__.setdefault(_CLEAR_ATTR, {})[sender] = set(related)
            return
        if action == "post_clear":
            pk_set = instance.__dict__.get(_CLEAR_ATTR, {}).pop(sender, None)
        m2m = SignalType.M2M_CHANGED
        if here:
            handle_change(
                registry, type(instance), instance, m2m, update_fields=[name_here], using=using
            )
        if there and pk_set:
            for other in cast(Any, model)._base_manager.using(using).filter(pk__in=pk_set):
                handle_change(registry, model, other, m2m, update_fields=[name_there], using=using)

    return on_m2m_changed
