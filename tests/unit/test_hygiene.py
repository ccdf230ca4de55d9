"""Maintained libraries where a hand-written piece used to be: the bounded API-key cache (cachetools) and
the FCM service-account grant (google-auth)."""

from __future__ import annotations

import json

import pytest

from activities.providers.base import ProviderError, PushMessage
from activities.providers.push import FcmProvider
from api.deps import KEY_CACHE_SIZE, KEY_CACHE_TTL_SECONDS, key_cache
from tests.fakes.fixtures import fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders


def test_api_key_cache_is_bounded_and_expires() -> None:
    cache = key_cache()
    for n in range(KEY_CACHE_SIZE + 50):
        cache[f"key-{n}"] = object()  # type: ignore[assignment]
    assert len(cache) == KEY_CACHE_SIZE  # the oldest went first
    assert "key-0" not in cache and f"key-{KEY_CACHE_SIZE + 49}" in cache
    assert cache.ttl == KEY_CACHE_TTL_SECONDS
    cache.expire(cache.timer() + KEY_CACHE_TTL_SECONDS + 1)
    assert len(cache) == 0


async def test_fcm_refuses_a_bad_service_account_key_without_calling_google(fake: FakeHttpProviders) -> None:
    account = {
        "project_id": "demo",
        "client_email": "push@demo.iam.gserviceaccount.com",
        "private_key": "not a key",
        "token_uri": f"{fake.url}/oauth/token",
    }
    provider = FcmProvider(base_urls={"fcm": fake.url})
    with pytest.raises(ProviderError) as err:
        await provider.send(
            PushMessage(tokens=["t"], title="x", content="y"), {"serviceAccount": json.dumps(account)}
        )
    assert err.value.permanent
    assert fake.to("/oauth/token") == []
