"""Running calls: :class:`Client` (sync) and :class:`AsyncClient` over httpx."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx
from pydantic import TypeAdapter

T = TypeVar("T")


class ApiError(Exception):
    """A problem the API answered with: ``status``, stable ``code``, ``detail``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.code = str(body.get("code", "unknown"))
        self.detail = str(body.get("detail", ""))
        self.request_id = body.get("request_id")
        self.errors = body.get("errors") or []
        super().__init__(f"{status} {self.code}: {self.detail}")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the shape of its answer."""

    method: str
    path: str
    answer: Any  # the type the answer is read as
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # the idempotency key of a write
    files: dict[str, tuple[str, bytes]] | None = None

    def request(self) -> dict[str, Any]:
        headers = {}
        if self.method == "POST":
            headers["Idempotency-Key"] = self.key or f"py-{uuid.uuid4()}"
        params = {k: v for k, v in self.params.items() if v is not None}
        return {"method": self.method, "url": self.path, "json": self.json, "params": params,
                "headers": headers, "files": self.files}  # fmt: skip


def _read(call: Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"code": "http_error", "detail": response.text[:200]}
        raise ApiError(response.status_code, body if isinstance(body, dict) else {})
    value: T = TypeAdapter(call.answer).validate_json(response.content)
    return value


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class Client:
    """The API at ``base_url``, as the organization whose ``api_key`` this is."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeout: float = 30.0,
        retries: int = 2, transport: httpx.BaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.retries = retries
        self.http = httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout,
                                 transport=transport)  # fmt: skip

    def run(self, call: Call[T]) -> T:
        """The call's answer; a network failure is retried with the same idempotency key."""
        request = call.request()
        for attempt in range(self.retries + 1):
            try:
                return _read(call, self.http.request(**request))
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def pages(self, make: Callable[[str | None], Call[Any]]) -> Iterator[Any]:
        """Every page of a list: ``make(cursor)`` builds the call for one page."""
        cursor = None
        while True:
            page = self.run(make(cursor))
            yield page
            cursor = page.next
            if cursor is None:
                return

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """:class:`Client`, for asyncio."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeout: float = 30.0,
        retries: int = 2, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.retries = retries
        self.http = httpx.AsyncClient(base_url=base_url, headers=_headers(api_key),
                                      timeout=timeout, transport=transport)  # fmt: skip

    async def run(self, call: Call[T]) -> T:
        import asyncio

        request = call.request()
        for attempt in range(self.retries + 1):
            try:
                return _read(call, await self.http.request(**request))
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def pages(self, make: Callable[[str | None], Call[Any]]) -> AsyncIterator[Any]:
        cursor = None
        while True:
            page = await self.run(make(cursor))
            yield page
            cursor = page.next
            if cursor is None:
                return

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
