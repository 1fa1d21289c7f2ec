from __future__ import annotations

import json
import logging
import uuid
from typing import Any, ClassVar

import pytest
from django.test import override_settings

from restflow.dispatch.base import (
    Dispatcher,
    DispatchError,
    PayloadError,
    get_dispatcher_settings,
    resolve_raise_exception,
)
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal
from restflow.dispatch.worker import import_dotted


class Recording(Dispatcher):
    name: ClassVar[str] = "recording"
    sent: ClassVar[list[dict[str, Any]]] = []

    def _dispatch(self, *, rule_ids: list[str], rule_kwargs: dict[str, Any], **context: Any) -> None:
        self.sent.append({"rule_ids": rule_ids, "rule_kwargs": rule_kwargs, **context})


class Broken(Dispatcher):
    name: ClassVar[str] = "broken"

    def _dispatch(self, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker at 127.0.0.1:1 refused the connection")


def test_config_is_copied_and_validated_on_construction() -> None:
    config = {"foo": 1, "bar": "x"}
    dispatcher = Recording(**config)
    config["foo"] = 2
    assert dispatcher.config == {"foo": 1, "bar": "x"}
    with pytest.raises(ValueError, match="fallback must be one of"):
        Recording(fallback="drop")


def test_option_prefers_rule_config_then_block_then_default() -> None:
    blocks = {"DISPATCHER_SETTINGS": {"recording": {"QUEUE": "from-settings"}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
        assert Recording(queue="from-rule").option("queue") == "from-rule"
        assert Recording().option("queue") == "from-settings"
        assert Recording().option("missing", "fallback") == "fallback"
        assert Recording(queue=None).option("queue") == "from-settings"


def test_block_of_a_bundled_dispatcher_merges_user_values_over_defaults() -> None:
    assert get_dispatcher_settings("threadpool") == {"MAX_WORKERS": 4, "RAISE_EXCEPTION": None}
    blocks = {"DISPATCHER_SETTINGS": {"threadpool": {"MAX_WORKERS": 16}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
        assert get_dispatcher_settings("threadpool") == {"MAX_WORKERS": 16, "RAISE_EXCEPTION": None}


def test_blocks_follow_every_settings_change_and_each_caller_gets_its_own_copy() -> None:
    mine = get_dispatcher_settings("threadpool")
    mine["MAX_WORKERS"] = 99
    assert get_dispatcher_settings("threadpool")["MAX_WORKERS"] == 4
    for workers in (8, 16):
        blocks = {"DISPATCHER_SETTINGS": {"threadpool": {"MAX_WORKERS": workers}, "x": {"N": workers}}}
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
            assert get_dispatcher_settings("threadpool")["MAX_WORKERS"] == workers
            assert get_dispatcher_settings("x") == {"N": workers}
    assert get_dispatcher_settings("threadpool")["MAX_WORKERS"] == 4
    assert get_dispatcher_settings("x") == {}


def test_block_of_a_custom_dispatcher_is_the_users_block_or_empty() -> None:
    assert get_dispatcher_settings("x") == {}
    blocks = {"DISPATCHER_SETTINGS": {"x": {"FOO": "bar"}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
        assert get_dispatcher_settings("x") == {"FOO": "bar"}


def test_import_dotted() -> None:
    assert import_dotted("os.path.join") is __import__("os").path.join
    with pytest.raises(ImportError, match="Invalid dotted path"):
        import_dotted("nodots")
    with pytest.raises(ImportError, match="has no attribute"):
        import_dotted("os.path.nope")
    with pytest.raises(ImportError):
        import_dotted("restflow_no_such_module.attr")


def _cache(**values: Any) -> dict[str, Any]:
    return {"CACHE_SETTINGS": values}


@pytest.mark.parametrize(
    ("overrides", "name", "flags", "expected"),
    [
        ({}, None, (), False),
        (_cache(DISPATCHER_RAISE_EXCEPTION=True), None, (), True),
        (_cache(DISPATCHER_RAISE_EXCEPTION=True), "celery", (), True),
        (_cache(DISPATCHER_SETTINGS={"celery": {"RAISE_EXCEPTION": True}}), "celery", (), True),
        (_cache(DISPATCHER_SETTINGS={"celery": {"RAISE_EXCEPTION": True}}), "inline", (), False),
        (
            _cache(
                DISPATCHER_RAISE_EXCEPTION=True,
                DISPATCHER_SETTINGS={"inline": {"RAISE_EXCEPTION": False}},
            ),
            "inline", (), False,
        ),
        (_cache(DISPATCHER_RAISE_EXCEPTION=True), "inline", (False,), False),
        ({}, "inline", (None, True, False), True),
        ({}, "inline", (None, None), False),
        (_cache(DISPATCHER_SETTINGS={"inline": {"RAISE_EXCEPTION": True}}), "inline", (None,), True),
    ],
)
def test_raise_exception_resolution_order(
    overrides: dict[str, Any], name: str | None, flags: tuple[bool | None, ...], expected: bool
) -> None:
    with override_settings(RESTFLOW_SETTINGS=overrides):
        assert resolve_raise_exception(name, flags) is expected


@pytest.mark.parametrize(
    ("rule_ids", "rule_kwargs"),
    [
        ("not-a-list", {}),
        ([1], {}),
        (["a"], ["not", "a", "dict"]),
        (["a"], {"a": {"pk": uuid.uuid4()}}),
        (["a"], {"a": {"when": object()}}),
        (["a"], {"a": {"nan": float("nan")}}),
    ],
)
def test_payloads_that_are_not_json_native_are_refused(rule_ids: Any, rule_kwargs: Any) -> None:
    Recording.sent.clear()
    with pytest.raises(PayloadError):
        Recording().dispatch(rule_ids=rule_ids, rule_kwargs=rule_kwargs)
    assert Recording.sent == []


def test_context_reaches_the_protected_hook() -> None:
    Recording.sent.clear()
    Recording().dispatch(rule_ids=["r"], rule_kwargs={"r": {"a": 1}}, model_label="app.M", pk=3)
    assert Recording.sent == [
        {"rule_ids": ["r"], "rule_kwargs": {"r": {"a": 1}}, "model_label": "app.M", "pk": 3}
    ]


def test_batch_key_ignores_config_order_and_tracks_values() -> None:
    assert Recording(a=1, b=2).batch_key() == Recording(b=2, a=1).batch_key()
    assert Recording(a=1).batch_key() != Recording(a=2).batch_key()


def test_failed_handoff_runs_inline_and_logs_once_per_interval(
    conformance_journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    token = uuid.uuid4().hex
    dispatcher = Broken(function_path=RECORD_JOB_PATH)
    with caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        for n in range(3):
            rule_id = f"r#{token}#{n}"
            dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}}, pk=n)
    jobs = conformance_journal.jobs(token)
    assert [job["rule_ids"][0] for job in jobs] == [f"r#{token}#{n}" for n in range(3)]
    assert all(job["fallback"] == "inline" for job in jobs)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "'broken'" in errors[0].getMessage()
    assert "refused the connection" in errors[0].getMessage()


def test_failed_handoff_with_raise_policy_from_settings() -> None:
    blocks = {"DISPATCHER_SETTINGS": {"broken": {"FALLBACK": "raise"}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
        with pytest.raises(DispatchError, match="'broken' could not hand off") as info:
            Broken().dispatch(rule_ids=["r"], rule_kwargs={"r": {}})
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_jobs_run_through_the_registered_worker_entry(conformance_journal: Journal) -> None:
    from restflow.dispatch.inline import InlineDispatcher
    from restflow.dispatch.testing import record_job
    from restflow.dispatch.worker import register_worker, worker_entry, worker_path

    register_worker(record_job)
    assert worker_entry() is record_job
    assert worker_path() == RECORD_JOB_PATH
    token = uuid.uuid4().hex
    rule_id = f"r#{token}#0"
    InlineDispatcher().dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    [job] = conformance_journal.jobs(token)
    assert job["dispatcher_name"] == "inline"


def test_without_a_registered_worker_entry_a_job_says_what_to_install() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from restflow.dispatch import worker
    from restflow.dispatch.inline import InlineDispatcher

    worker._entries.clear()  # restored by the test bed's clean_dispatch_state
    with pytest.raises(ImproperlyConfigured, match=r"'restflow\.caching' to INSTALLED_APPS"):
        InlineDispatcher().dispatch(rule_ids=["r"], rule_kwargs={"r": {}})


def test_a_journal_line_still_being_written_is_read_at_the_next_poll(tmp_path: Any) -> None:
    """A worker in another process may be halfway through appending its line when the
    test polls: the journal returns the whole lines only, never a decoding error."""
    path = tmp_path / "journal.jsonl"
    whole = json.dumps({"rule_ids": ["r#t#0"], "rule_kwargs": {}}) + "\n"
    second = json.dumps({"rule_ids": ["r#t#1"], "rule_kwargs": {}}) + "\n"
    path.write_text(whole + second[:20])
    journal = Journal(path)
    assert [job["rule_ids"] for job in journal.jobs("r#t#")] == [["r#t#0"]]
    path.write_text(whole + second)
    assert [job["rule_ids"] for job in journal.jobs("r#t#")] == [["r#t#0"], ["r#t#1"]]
