"""A typed Python client of Capillary's HTTP API (httpx), sync and async.

    from capillary.client import Client, v1

    with Client("http://127.0.0.1:8000", api_key="cap_…") as api:
        cert = api.run(v1.issue(obligor="core", holder="tier1", payable_ids=[7],
                                face=v1.money("100000.00"), maturity=date(2027, 3, 1)))
        for page in api.pages(lambda cursor: v1.fragments(cursor=cursor)):
            ...

Every call is a :class:`~capillary.client.calls.Call` built by :mod:`capillary.client.v1`
and run by :meth:`Client.run` (or ``await AsyncClient.run``), which returns the API's own
shape (Pydantic) or raises :class:`ApiError` with the problem's ``code`` and ``detail``.
Every write carries an idempotency key (fresh unless given); a call cut off by the network
is retried with the same key, so it takes effect once.
"""

from capillary.client import v1
from capillary.client.calls import ApiError, AsyncClient, Call, Client

__all__ = ["ApiError", "AsyncClient", "Call", "Client", "v1"]
