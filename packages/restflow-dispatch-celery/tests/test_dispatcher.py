"""CeleryDispatcher's options, message shape and task, on eager and in-memory apps."""

from __future__ import annotations

import enum
import importlib
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from celery_testapp.celery_app import current_celery_app, make_app
from django.test import override_settings
from kombu import Connection

from restflow.dispatch.celery import DEFAULT_TASK_NAME, CeleryDispatcher, task_run_cache_rules
from restflow.dispatch.testing import RECORD_JOB_PATH


def _block(**values: Any) -> dict[str, Any]:
    return {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"celery": values}}}


class Signal(enum.Enum):
    POST_SAVE = "POST_SAVE"


def test_the_task_is_registered_under_the_default_task_name() -> None:
    assert task_run_cache_rules.name == DEFAULT_TASK_NAME == (
        "restflow.caching.tasks.task_run_cache_rules"
    )
    app = make_app("memory://")
    assert app.tasks[DEFAULT_TASK_NAME] is not None


def test_task_name_resolution() -> None:
    assert CeleryDispatcher().task_name() == DEFAULT_TASK_NAME
    with override_settings(RESTFLOW_SETTINGS=_block(TASK_NAME="proj.tasks.invalidate")):
        assert CeleryDispatcher().task_name() == "proj.tasks.invalidate"
        assert CeleryDispatcher(task_name="rule.task").task_name() == "rule.task"
        assert CeleryDispatcher(task_name="").task_name() == "proj.tasks.invalidate"


def test_queue_resolution_honours_an_explicit_none() -> None:
    assert CeleryDispatcher().queue() is None
    with override_settings(RESTFLOW_SETTINGS=_block(QUEUE="invalidation")):
        assert CeleryDispatcher().queue() == "invalidation"
        assert CeleryDispatcher(queue="hot").queue() == "hot"
        assert CeleryDispatcher(queue=None).queue() is None  # present: wins over the block


def test_batch_key_depends_on_task_and_queue() -> None:
    a = CeleryDispatcher(task_name="t", queue="q")
    assert a.batch_key() == (CeleryDispatcher, "t", "q")
    assert a.batch_key() == CeleryDispatcher(queue="q", task_name="t").batch_key()
    assert a.batch_key() != CeleryDispatcher(task_name="t", queue="other").batch_key()
    # Rules with another failure policy are not merged into one message.
    assert a.batch_key() != CeleryDispatcher(task_name="t", queue="q", fallback="raise").batch_key()


@pytest.mark.parametrize(
    ("pk", "sent"),
    [(42, 42), ("café-1", "café-1"), (uuid.UUID(int=5), str(uuid.UUID(int=5))), (None, None)],
)
def test_task_kwargs_have_the_pinned_shape_and_json_pks(pk: Any, sent: Any) -> None:
    kwargs = CeleryDispatcher().task_kwargs(
        ["r1"], {"r1": {"a": 1}}, {"model_label": "app.M", "pk": pk, "signal_type": Signal.POST_SAVE}
    )
    assert kwargs == {"model_label": "app.M", "pk": sent, "rule_ids": ["r1"],
                      "signal_type": "POST_SAVE", "rule_kwargs": {"r1": {"a": 1}}}
    assert CeleryDispatcher().task_kwargs([], {}, {"signal_type": "POST_DELETE"})[
        "signal_type"] == "POST_DELETE"
    assert CeleryDispatcher().task_kwargs([], {}, {"signal_type": 3})["signal_type"] is None


@pytest.fixture
def memory_app() -> Iterator[Celery]:
    app = make_app("memory://")
    with current_celery_app(app):
        yield app


def _drain(app: Celery, queue: str) -> list[dict[str, Any]]:
    """The task messages waiting in ``queue`` of the in-memory broker."""
    messages = []
    with Connection("memory://") as conn:
        simple = conn.SimpleQueue(queue)
        try:
            while True:
                message = simple.get(block=False)
                messages.append({"headers": message.headers, "body": message.decode(),
                                 "content_type": message.content_type})
                message.ack()
        except simple.Empty:
            pass
        finally:
            simple.close()
    return messages


def test_unregistered_task_names_are_published_by_name_as_json(memory_app: Celery) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    dispatcher = CeleryDispatcher(task_name="remote.only.task", queue=queue)
    dispatcher.dispatch(rule_ids=["r1"], rule_kwargs={"r1": {"pk": "x"}},
                        model_label="app.M", pk=uuid.UUID(int=1))
    [message] = _drain(memory_app, queue)
    assert message["headers"]["task"] == "remote.only.task"
    assert message["content_type"] == "application/json"
    args, kwargs, _ = message["body"]
    assert args == []
    assert kwargs["pk"] == str(uuid.UUID(int=1))
    assert kwargs["rule_kwargs"] == {"r1": {"pk": "x"}}


def test_monitoring_reprs_summarise_the_job_without_walking_its_rule_kwargs(
    memory_app: Celery,
) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    rule_kwargs = {f"r{i}": {"group_id": i, "secret": "x" * 50} for i in range(100)}
    CeleryDispatcher(task_name="remote.only.task", queue=queue).dispatch(
        rule_ids=list(rule_kwargs), rule_kwargs=rule_kwargs, model_label="app.M", pk=7
    )
    [message] = _drain(memory_app, queue)
    summary = message["headers"]["kwargsrepr"]
    assert "'model_label': 'app.M'" in summary
    assert "'pk': 7" in summary
    assert "'r99'" in summary  # the rule ids are shown
    assert "<100 rules>" in summary
    assert "secret" not in summary  # the per-rule kwargs are not
    assert message["headers"]["argsrepr"] == "()"
    assert message["body"][1]["rule_kwargs"] == rule_kwargs  # the job itself is complete


def test_without_publish_timeout_the_apps_own_settings_are_used(memory_app: Celery) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    CeleryDispatcher(task_name="remote.only.task", queue=queue, publish_timeout=0).dispatch(
        rule_ids=["r1"], rule_kwargs={"r1": {}}
    )
    assert len(_drain(memory_app, queue)) == 1


def test_eager_apps_run_registered_tasks_in_process(memory_app: Celery) -> None:
    calls: list[dict[str, Any]] = []

    @memory_app.task(name="tests.eager.collect")
    def collect(**kwargs: Any) -> None:
        calls.append(kwargs)

    memory_app.conf.task_always_eager = True
    CeleryDispatcher(task_name="tests.eager.collect", function_path=RECORD_JOB_PATH).dispatch(
        rule_ids=["r1"], rule_kwargs={"r1": {"a": 1}}, model_label="app.M", pk=7,
        signal_type=Signal.POST_SAVE,
    )
    assert calls == [{"model_label": "app.M", "pk": 7, "rule_ids": ["r1"],
                      "signal_type": "POST_SAVE", "rule_kwargs": {"r1": {"a": 1}}}]


def test_the_package_imports_without_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "celery" or n.startswith("celery.")
                 or n.startswith("restflow.dispatch.celery")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "celery", None)
    module = importlib.import_module("restflow.dispatch.celery")
    assert "task_run_cache_rules" not in module.__all__
    with pytest.raises(ImportError, match="celery is required"):
        module.CeleryDispatcher()


def test_restflow_cache_exposes_this_very_task() -> None:
    from restflow.caching import tasks

    assert tasks.task_run_cache_rules is task_run_cache_rules
