"""``cache_result`` on async functions and the async twins (docs/caching.md, Async use)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from restflow.caching import CACHE_MISSING, ArgsKeyField, KeyConstructor, cache_result


class UserKey(KeyConstructor):
    user = ArgsKeyField("user_id", partition=True)
    page = ArgsKeyField("page")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def make(calls: Counter[str], **options: Any) -> Any:
    @cache_result(UserKey, **options)
    async def fetch(user_id: int, page: int = 1) -> dict[str, int]:
        calls["fetch"] += 1
        await asyncio.sleep(0)
        return {"user": user_id, "page": page, "n": calls["fetch"]}

    return fetch


class TestAsyncCalling:
    def test_hit_returns_value_not_coroutine(self) -> None:
        calls: Counter[str] = Counter()
        fetch = make(calls)

        async def scenario() -> None:
            first = await fetch(1)
            second = await fetch(1)
            assert first == second == {"user": 1, "page": 1, "n": 1}

        run(scenario())
        assert calls["fetch"] == 1

    def test_metadata_refresh_cache_only(self) -> None:
        calls: Counter[str] = Counter()
        fetch = make(calls)

        async def scenario() -> None:
            assert await fetch.aget_cache_only(1) is CACHE_MISSING
            assert await fetch.aget_cached_metadata(1) is None
            _, meta = await fetch.aget_with_metadata(1)
            assert meta["cache_status"] == "MISS"
            _, meta = await fetch.aget_with_metadata(1)
            assert meta["cache_status"] == "HIT"
            assert "cached_at" in await fetch.aget_cached_metadata(1)
            fresh = await fetch.arefresh(1)
            assert fresh["n"] == 2
            assert (await fetch(1))["n"] == 2
            assert (await fetch.abypass_cache(1))["n"] == 3
            assert (await fetch(1))["n"] == 2

        run(scenario())

    def test_async_invalidation(self) -> None:
        calls: Counter[str] = Counter()
        fetch = make(calls)

        async def scenario() -> None:
            await fetch(1, 1)
            await fetch(1, 2)
            await fetch(2, 1)
            await fetch.adelete_cache(1, 2)
            assert await fetch.aget_cache_only(1, 2) is CACHE_MISSING
            assert await fetch.aget_cache_only(1, 1) is not CACHE_MISSING
            await fetch.adelete_by_prefix(user_id=1)
            assert await fetch.aget_cache_only(1, 1) is CACHE_MISSING
            assert await fetch.aget_cache_only(2, 1) is not CACHE_MISSING
            await fetch.ainvalidate_all()
            assert await fetch.aget_cache_only(2, 1) is CACHE_MISSING

        run(scenario())

    @pytest.mark.parametrize(
        "name",
        [
            "get_with_metadata",
            "get_cache_only",
            "get_cached_metadata",
            "refresh",
            "bypass_cache",
            "delete_cache",
            "delete_by_prefix",
        ],
    )
    def test_sync_methods_name_async_twin(self, name: str) -> None:
        fetch = make(Counter())
        with pytest.raises(TypeError, match=f"a{name}"):
            getattr(fetch, name)(1)

    def test_invalidate_all_names_async_twin(self) -> None:
        with pytest.raises(TypeError, match="ainvalidate_all"):
            make(Counter()).invalidate_all()

    @pytest.mark.parametrize("name", ["aget_with_metadata", "arefresh", "abypass_cache"])
    def test_async_only_methods_reject_sync_function(self, name: str) -> None:
        @cache_result()
        def f(x: int) -> int:
            return x

        with pytest.raises(TypeError, match=name[1:]):
            run(getattr(f, name)(1))

    def test_cache_only_twins_work_on_sync_functions(self) -> None:
        @cache_result(UserKey)
        def f(user_id: int, page: int = 1) -> int:
            return user_id

        f(1)

        async def scenario() -> None:
            assert await f.aget_cache_only(1) == 1
            assert await f.aget_cached_metadata(1) is not None
            await f.adelete_by_prefix(user_id=1)
            assert await f.aget_cache_only(1) is CACHE_MISSING

        run(scenario())


class TestAsyncPredicates:
    @pytest.mark.parametrize("option", ["cache_if", "cache_unless"])
    def test_async_predicate_awaited(self, option: str) -> None:
        async def predicate(result: Any) -> bool:
            anonymous = result["user"] == 0
            return anonymous if option == "cache_unless" else not anonymous

        fetch = make(Counter(), **{option: predicate})

        async def scenario() -> None:
            await fetch(0)
            await fetch(1)
            assert await fetch.aget_cache_only(0) is CACHE_MISSING
            assert await fetch.aget_cache_only(1) is not CACHE_MISSING

        run(scenario())


class TestWipe:
    def test_wipe_and_awipe(self) -> None:
        class Shared(KeyConstructor):
            user = ArgsKeyField("user_id", partition=True)

        @cache_result(Shared)
        def f(user_id: int) -> int:
            return user_id

        @cache_result(Shared)
        async def g(user_id: int, extra: int = 0) -> int:
            return -user_id

        async def scenario() -> None:
            for user in (1, 2):
                f(user)
                await g(user)
            Shared.wipe(1)
            assert f.get_cache_only(1) is CACHE_MISSING
            assert await g.aget_cache_only(1) is CACHE_MISSING
            assert f.get_cache_only(2) == 2
            assert await g.aget_cache_only(2) == -2
            await Shared.awipe()
            assert f.get_cache_only(2) is CACHE_MISSING
            assert await g.aget_cache_only(2) is CACHE_MISSING

        run(scenario())
