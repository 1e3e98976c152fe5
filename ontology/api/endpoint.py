"""The ``/graphql`` endpoint: authentication, the request context, GraphiQL.

Authentication happens before the operation runs: a missing, unknown or
revoked key gets HTTP 401 (a key acting on a group it may not gets 403) with a
GraphQL-shaped error body, so no resolver ever runs without a caller. The
GraphiQL page itself needs no key; the queries it sends do.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from cross_web import HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from ontology.context import Context, Loaders
from ontology.keys.service import GROUP_HEADER
from ontology.kit.errors import AuthenticationError, ForbiddenError
from ontology.kit.properties import nesting_exceeds
from ontology.runtime import Runtime

REQUEST_ID_HEADER = "X-Request-Id"


class GraphQLEndpoint(GraphQL[Context, None]):
    # The offline GraphiQL page (``ontology.api.graphiql``), set by ``create_app``;
    # None falls back to strawberry's page.
    graphiql_page: str | None = None

    def __init__(self, *args: Any, max_json_depth: int = 32, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_json_depth = max_json_depth

    @property
    def graphql_ide_html(self) -> str:
        return self.graphiql_page or super().graphql_ide_html

    def decode_json(self, data: str | bytes) -> object:
        """Parse a request body (or GET ``variables``), refusing hostile nesting with a 400.

        The body object adds one level around ``variables``, hence ``+ 1``.
        """
        too_deep = HTTPException(
            400, f"Request JSON is nested deeper than {self.max_json_depth} levels."
        )
        try:
            value = json.loads(data)
        except RecursionError:
            raise too_deep from None
        if nesting_exceeds(value, self.max_json_depth + 1):
            raise too_deep
        return value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        response: Response
        try:
            response = await self.run(request)
        except AuthenticationError as error:
            response = _error_response(error, 401, {"WWW-Authenticate": "Bearer"})
        except ForbiddenError as error:
            response = _error_response(error, 403)
        except HTTPException as error:
            response = PlainTextResponse(error.reason, status_code=error.status_code)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        runtime: Runtime = request.app.state.runtime
        request_id = uuid.uuid4().hex
        if response is not None and hasattr(response, "headers"):
            response.headers[REQUEST_ID_HEADER] = request_id
        if isinstance(request, Request) and self.should_render_graphql_ide(
            StarletteRequestAdapter(request)
        ):
            # The page is served before any context is used; nothing to authenticate.
            return None  # type: ignore[return-value]
        caller = await runtime.services.keys.authenticate(
            request.headers.get("authorization"), request.headers.get(GROUP_HEADER)
        )
        return Context(
            runtime=runtime,
            caller=caller,
            loaders=Loaders.for_group(runtime, caller.group_id),
            request=request,
            response=response,
            request_id=request_id,
        )


def _error_response(
    error: AuthenticationError | ForbiddenError, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"data": None, "errors": [{"message": str(error), "extensions": {"code": error.code}}]}
    return JSONResponse(body, status_code=status, headers=headers)
