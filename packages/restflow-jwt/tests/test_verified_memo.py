"""The per-process memo of verified access tokens: same answers as a full check, less work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from jwt_testapp.support import SECRET

from restflow.authentication import AccessToken, RefreshToken, TokenError, codec

pytestmark = pytest.mark.django_db


@pytest.fixture
def decodes(monkeypatch: Any) -> list[str]:
    """The raw tokens PyJWT was asked to verify."""
    seen: list[str] = []
    real = codec.jwt.decode

    def counting(raw: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(raw)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(codec.jwt, "decode", counting)
    return seen


def test_a_verified_access_token_is_not_verified_again(user: Any, decodes: list[str]) -> None:
    raw = str(AccessToken.for_user(user))
    first = AccessToken.verify(raw)
    second = AccessToken.verify(raw)
    assert decodes == [raw]
    assert second.payload == first.payload
    second.payload["user_id"] = -1  # a caller's change stays in its copy
    assert AccessToken.verify(raw).payload["user_id"] == user.pk


def test_refresh_tokens_are_verified_every_time(user: Any, decodes: list[str]) -> None:
    raw = str(RefreshToken.for_user(user))
    RefreshToken.verify(raw)
    RefreshToken.verify(raw)
    assert decodes == [raw, raw]


def test_a_remembered_access_token_is_still_refused_as_a_refresh_token(user: Any) -> None:
    raw = str(AccessToken.for_user(user))
    AccessToken.verify(raw)
    with pytest.raises(TokenError, match="Wrong token type"):
        RefreshToken.verify(raw)


def test_a_remembered_token_expires_on_time(user: Any, monkeypatch: Any, configure_jwt: Any) -> None:
    configure_jwt(
        SIGNING_KEY=SECRET, ACCESS_TOKEN_LIFETIME=timedelta(minutes=5), LEEWAY=timedelta(seconds=10)
    )
    token = AccessToken.for_user(user)
    AccessToken.verify(token.raw)
    # Just inside the leeway: still valid (as PyJWT says); just past it: expired.
    monkeypatch.setattr(codec.time, "time", lambda: token.exp + 9.5)
    assert AccessToken.verify(token.raw).payload["jti"] == token.jti
    monkeypatch.setattr(codec.time, "time", lambda: token.exp + 10.5)
    monkeypatch.setattr("jwt.api_jwt.datetime", _clock_at(token.exp + 10.5))
    with pytest.raises(TokenError, match="expired"):
        AccessToken.verify(token.raw)


def _clock_at(timestamp: float) -> Any:
    """A ``datetime`` module stand-in whose ``now`` is ``timestamp`` (PyJWT's clock)."""
    import datetime as real

    class FrozenDatetime(real.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return real.datetime.fromtimestamp(timestamp, tz=tz)

    return FrozenDatetime


def test_a_settings_change_forgets_every_remembered_token(user: Any, configure_jwt: Any) -> None:
    raw = str(AccessToken.for_user(user))
    AccessToken.verify(raw)
    configure_jwt(SIGNING_KEY="another-" + SECRET)
    with pytest.raises(TokenError):
        AccessToken.verify(raw)


def test_the_memo_is_bounded(user: Any, monkeypatch: Any, decodes: list[str]) -> None:
    monkeypatch.setattr(codec, "_MEMO_SIZE", 3)
    raws = [str(AccessToken.for_user(user)) for _ in range(4)]
    for raw in raws:
        AccessToken.verify(raw)
    assert len(codec._memo[1]) <= 3
    AccessToken.verify(raws[0])  # dropped when the memo restarted: verified again
    assert decodes == [*raws, raws[0]]
