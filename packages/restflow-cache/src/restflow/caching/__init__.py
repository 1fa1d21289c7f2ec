"""restflow.caching: declarative caching for Django REST Framework.

Importing this package works before Django's app registry is ready and imports no
broker library; broker dispatchers are lazy attributes (``CeleryDispatcher`` ...).
"""

from __future__ import annotations

import importlib
from typing import Any

from restflow.caching.cache_response import (
    CachedResponseWrapper,
    ResponseCacheKeyConstructor,
    cache_response,
)
from restflow.caching.constants import CACHE_MISSING, CacheStatus
from restflow.caching.key_constructor import (
    DefaultKeyConstructor,
    InlineKeyConstructor,
    KeyConstructor,
)
from restflow.caching.key_fields import (
    AcceptedRendererKeyField,
    ArgsKeyField,
    CacheKeyField,
    ConstantKeyField,
    DjangoModelKeyField,
    DrfSerializerKeyField,
    HostKeyField,
    QueryParamsKeyField,
    RequestValueKeyField,
    ViewKwargsKeyField,
)
from restflow.caching.partition_mapping import UnaddressableKeyField
from restflow.caching.registry import CacheRegister, CacheRegistry
from restflow.caching.rules import InvalidationRule
from restflow.caching.wrapper import CachedWrapper, cache_result, set_response_cache_header
from restflow.dispatch.asyncio import AsyncIODispatcher
from restflow.dispatch.base import Dispatcher
from restflow.dispatch.inline import InlineDispatcher
from restflow.dispatch.registry import register_dispatcher, registered_dispatcher_names
from restflow.dispatch.threadpool import ThreadPoolDispatcher

__all__ = [
    "CACHE_MISSING",
    "AcceptedRendererKeyField",
    "ArgsKeyField",
    "AsyncIODispatcher",
    "CacheKeyField",
    "CacheRegister",
    "CacheRegistry",
    "CacheStatus",
    "CachedResponseWrapper",
    "CachedWrapper",
    "ConstantKeyField",
    "DefaultKeyConstructor",
    "Dispatcher",
    "DjangoModelKeyField",
    "DrfSerializerKeyField",
    "HostKeyField",
    "InlineDispatcher",
    "InlineKeyConstructor",
    "InvalidationRule",
    "KeyConstructor",
    "QueryParamsKeyField",
    "RequestValueKeyField",
    "ResponseCacheKeyConstructor",
    "ThreadPoolDispatcher",
    "UnaddressableKeyField",
    "ViewKwargsKeyField",
    "cache_response",
    "cache_result",
    "register_dispatcher",
    "registered_dispatcher_names",
    "set_response_cache_header",
]

# name -> (module, attribute, extra of restflow-cache that installs it)
_LAZY_DISPATCHERS = {
    "CeleryDispatcher": ("restflow.dispatch.celery", "CeleryDispatcher", "celery"),
    "DjangoRqDispatcher": ("restflow.dispatch.django_rq", "DjangoRqDispatcher", "rq"),
    "DramatiqDispatcher": ("restflow.dispatch.dramatiq", "DramatiqDispatcher", "dramatiq"),
    "DjangoQDispatcher": ("restflow.dispatch.django_q", "DjangoQDispatcher", "django-q"),
}


def __getattr__(name: str) -> Any:
    spec = _LAZY_DISPATCHERS.get(name)
    if spec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute, extra = spec
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        dist = f"restflow-dispatch-{extra}"
        raise ImportError(
            f"{name} needs the {dist} distribution: pip install \"restflow-cache[{extra}]\""
        ) from exc
    return getattr(module, attribute)
