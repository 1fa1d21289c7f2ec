"""Receivers of the registry: ``post_save``, ``post_delete``, ``post_init``, ``m2m_changed``.

Each model's receivers are connected once, with ``sender=model`` (the exact class) and a
``dispatch_uid`` naming the model, so re-registering never connects twice. ``post_init``
is connected only for models whose rules need the values an instance was loaded with
(``watch_fields`` and partition moves). ``m2m_changed`` has one receiver for the process
that ignores relations between models without rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db.models import signals

from restflow.caching import _capture
from restflow.caching._commit import CommitWork

if TYPE_CHECKING:
    from restflow.caching.registry import CacheRegistry

_M2M_UID = "restflow.caching:m2m_changed"
_CLEAR_ATTR = "_restflow_m2m_clear"


def _uid(kind: str, model: type) -> str:
    return f"restflow.caching:{kind}:{model.__module__}.{model.__qualname__}"


def connect_model(registry: CacheRegistry, model: type) -> None:
    def on_save(
        sender: type,
        instance: Any,
        created: bool = False,
        update_fields: Any = None,
        using: str | None = None,
        **kwargs: Any,
    ) -> None:
        registry.handle_signal(
            sender,
            instance,
            signal_type=registry.SignalTypes.POST_SAVE,
            instance_created=bool(created),
            update_fields=update_fields,
            using=using,
        )

    def on_delete(sender: type, instance: Any, using: str | None = None, **kwargs: Any) -> None:
        registry.handle_signal(
            sender, instance, signal_type=registry.SignalTypes.POST_DELETE, using=using
        )

    signals.post_save.connect(on_save, sender=model, weak=False, dispatch_uid=_uid("save", model))
    signals.post_delete.connect(
        on_delete, sender=model, weak=False, dispatch_uid=_uid("delete", model)
    )
    signals.m2m_changed.connect(_make_m2m_receiver(registry), weak=False, dispatch_uid=_M2M_UID)


def connect_tracking(registry: CacheRegistry, model: type) -> None:
    def on_init(sender: type, instance: Any, **kwargs: Any) -> None:
        attnames = registry._tracked.get(sender)
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


def connect_inactive_check(registry: CacheRegistry) -> None:
    """On the first request, warn if rules were declared but never connected."""
    from django.core.signals import request_started

    def on_request(**kwargs: Any) -> None:
        request_started.disconnect(dispatch_uid=_INACTIVE_UID)
        registry.warn_if_inactive()

    request_started.connect(on_request, weak=False, dispatch_uid=_INACTIVE_UID)


def wants_raise(work: CommitWork) -> bool:
    """Whether an error of this work may propagate out of ``on_commit`` (else robust)."""
    from restflow.dispatch.base import resolve_raise_exception

    # A falsy explicit flag resolves to False; an unset one depends on the dispatcher
    # only, so it is resolved once per dispatcher spec (not once per rule) for this work.
    by_spec: dict[Any, bool] = {}
    for item in work.items:
        rule = item.entry["invalidation_rule"]
        flag = rule.raise_exception
        if flag:
            return True
        if flag is not None or rule.invalidator is not None:
            continue
        spec = rule.dispatcher
        verdict = by_spec.get(spec)
        if verdict is None:
            verdict = by_spec[spec] = resolve_raise_exception(rule.dispatcher_name(), [None])
        if verdict:
            return True
    return False


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


def _make_m2m_receiver(registry: CacheRegistry) -> Any:
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
        here = type(instance) in registry._model_rule_ids
        there = model in registry._model_rule_ids
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
        m2m = registry.SignalTypes.M2M_CHANGED
        if here:
            registry.handle_signal(
                type(instance), instance, signal_type=m2m, update_fields=[name_here], using=using
            )
        if there and pk_set:
            for other in cast(Any, model)._base_manager.using(using).filter(pk__in=pk_set):
                registry.handle_signal(
                    model, other, signal_type=m2m, update_fields=[name_there], using=using
                )

    return on_m2m_changed
