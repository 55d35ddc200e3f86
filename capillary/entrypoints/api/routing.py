"""Routes that write their JSON answer in the endpoint's own thread.

FastAPI validates a synchronous endpoint's return value against its response model in the
thread pool, then serializes it on the event loop: an extra hop and a second validation of
a model our own code just built. These routes keep the response model (for the spec) and
answer with the model dumped as JSON where the endpoint ran."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter


class AnswerInThread(APIRoute):
    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        model = self.response_model
        if model is None or inspect.iscoroutinefunction(endpoint):
            return
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        status = self.status_code or 200
        call = self.dependant.call
        assert call is not None

        def answer(*args: Any, **kw: Any) -> Any:
            result = call(*args, **kw)
            if isinstance(result, Response):
                return result
            return Response(adapter.dump_json(result), status_code=status,
                            media_type="application/json")  # fmt: skip

        self.dependant.call = answer
