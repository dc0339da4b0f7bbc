"""Machine-translation providers: a LibreTranslate-compatible HTTP API behind one interface."""

from __future__ import annotations

import json
from typing import Protocol

import httpx

from services.translation.domain import usable_translation

# LibreTranslate names Norwegian (Bokmål) "nb"; every other code of ours is its own.
PROVIDER_CODES = {"no": "nb"}


class ProviderError(Exception):
    """The provider did not give a usable translation (timeout, error, garbage)."""


class TranslationProvider(Protocol):
    name: str

    async def translate(self, text: str, source: str, target: str) -> str: ...

    async def close(self) -> None: ...


class LibreTranslateProvider:
    """POST {url}/translate {"q", "source", "target", "format": "text"} → {"translatedText"}."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        name: str = "libretranslate",
    ) -> None:
        self.url = url.rstrip("/") + "/translate"
        self.api_key = api_key
        self.name = name
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout))

    async def translate(self, text: str, source: str, target: str) -> str:
        body: dict[str, str] = {
            "q": text,
            "source": PROVIDER_CODES.get(source, source),
            "target": PROVIDER_CODES.get(target, target),
            "format": "text",
        }
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise ProviderError("the provider timed out") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"the provider cannot be reached: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderError(f"the provider answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProviderError("the provider answered something that is not JSON") from exc
        translated = usable_translation(answer)
        if translated is None:
            raise ProviderError("the provider's answer holds no translated text")
        return translated

    async def close(self) -> None:
        await self._client.aclose()
