"""The ``/graphql`` endpoint: GraphQL over HTTP, authentication, the request context.

Before anything is parsed or any key is looked up, a request is checked in
this order: the method must be GET or POST (else 405), the ``Accept`` header
must allow a GraphQL response (else 406), a POST must be ``application/json``
(else 415) and its body at most ``max_body_bytes``, counted while it streams
in (else 413).

Authentication happens before the operation runs: a missing, unknown or
revoked key gets HTTP 401 (a key acting on a group it may not gets 403) with a
GraphQL-shaped error body, so no resolver ever runs without a caller. The
GraphiQL page itself needs no key; the queries it sends do. Right after it, and
before the body is parsed, the request takes a token from its key's and its
group's rate buckets (``ontology.api.rate_limits``), else 429 ``RATE_LIMITED``
with ``Retry-After``.

Status codes follow GraphQL over HTTP: a request that is not a GraphQL request
(malformed JSON, a ``query`` that is no string, an array while batching is
off) gets 400 whatever the media type; a document that cannot run (syntax,
validation, variables, request limits) gets 400 for
``application/graphql-response+json`` clients, without a ``data`` entry, and
200 for legacy ``application/json`` clients. A mutation sent with GET gets 405
with ``Allow: POST``. Authentication's reads run under the database deadline
(``ONTOLOGY_DB_TIMEOUT_MS``); past it the request gets 503 ``TIMEOUT``. Every
error body is JSON: ``{"errors": [{message, extensions: {code}}]}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import uuid
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from ontology.api.context import Context, Loaders
from ontology.api.documents import DocumentRefused, TrustedDocuments, TrustedDocumentsMode
from ontology.api.extensions import TIMEOUT_MESSAGE
from ontology.api.media_types import GRAPHQL_RESPONSE_JSON, JSON, negotiate
from ontology.api.rate_limits import RateRefusal, RequestRateLimiter
from ontology.api.websocket import LiveTransportHandler, LiveWebSocketAdapter
from ontology.db.deadline import deadline, is_timeout
from ontology.keys.service import GROUP_HEADER, presented_key_hash
from ontology.kit.errors import AuthenticationError, ForbiddenError, RequestErrorCode
from ontology.kit.properties import nesting_exceeds
from ontology.kit.turns import off_loop
from ontology.runtime import Runtime

log = logging.getLogger("ontology.graphql")

REQUEST_ID_HEADER = "X-Request-Id"
# An incoming request id is kept when it looks like one (a proxy's or a client's)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(request: Request | WebSocket) -> str:
    """The request's id: the caller's ``X-Request-Id`` if well formed, else a new one,
    the same for every use within the request."""
    state = request.state
    if not hasattr(state, "request_id"):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        state.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    found: str = state.request_id
    return found


STATUS_CODES = {
    400: RequestErrorCode.BAD_REQUEST,
    404: RequestErrorCode.NOT_FOUND,
    405: RequestErrorCode.METHOD_NOT_ALLOWED,
    406: RequestErrorCode.NOT_ACCEPTABLE,
    413: RequestErrorCode.PAYLOAD_TOO_LARGE,
    415: RequestErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


class RequestRefused(Exception):
    """The HTTP request is refused before any GraphQL runs."""

    def __init__(
        self,
        status: int,
        message: str,
        code: RequestErrorCode,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extensions = extensions or {}


class GraphQLEndpoint(GraphQL[Context, None]):
    # The offline GraphiQL page (``ontology.api.graphiql``), set by ``create_app``;
    # None falls back to strawberry's page.
    graphiql_page: str | None = None
    # graphql-transport-ws, authenticated at connection_init
    graphql_transport_ws_handler_class = LiveTransportHandler
    websocket_adapter_class = LiveWebSocketAdapter

    def __init__(
        self,
        *args: Any,
        max_json_depth: int = 32,
        max_body_bytes: int = 32 * 1024 * 1024,
        rate_limiter: RequestRateLimiter | None = None,
        trusted_documents: TrustedDocuments | None = None,
        document_max_age: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_json_depth = max_json_depth
        self.max_body_bytes = max_body_bytes
        self.rate_limiter = rate_limiter or RequestRateLimiter(None, None)
        self.trusted_documents = trusted_documents or TrustedDocuments(TrustedDocumentsMode.OFF)
        self.document_max_age = document_max_age

    @property
    def graphql_ide_html(self) -> str:
        return self.graphiql_page or super().graphql_ide_html

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's GET without a document or a document id gets the page."""
        params = request.query_params
        return (
            "documentId" not in params
            and "extensions" not in params
            and super().should_render_graphql_ide(request)
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's operations, each document looked up by its id if it names one.

        ``_admit`` let only GET and ``application/json`` POST requests through.
        """
        transport = self._get_stream_transport_from_headers(request.headers)
        protocol = transport.protocol if transport else "http"
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        else:
            body = await request.get_body()
            data = await off_loop(len(body), self.parse_json, body)
        if isinstance(data, list):
            self._validate_batch_request(data, protocol=protocol)
            return [self._operation(item, protocol) for item in data]
        if not isinstance(data, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        return self._operation(data, protocol)

    def _operation(self, item: object, protocol: Any) -> GraphQLRequestData:
        if not isinstance(item, dict):
            raise HTTPException(400, "Each operation of a batch must be a JSON object.")
        resolved = self.trusted_documents.resolve(item)
        for key, kind in (("query", str), ("variables", dict), ("extensions", dict)):
            if not isinstance(resolved.get(key), kind | None):
                noun = "a string" if kind is str else "an object"
                raise HTTPException(
                    400, f"The GraphQL operation's `{key}` must be {noun} or null, if provided."
                )
        return GraphQLRequestData(
            query=resolved.get("query"),
            variables=resolved.get("variables"),
            operation_name=resolved.get("operationName"),
            extensions=resolved.get("extensions"),
            protocol=protocol,
        )

    def decode_json(self, data: str | bytes) -> object:
        """Parse a request body (or GET ``variables``), refusing hostile nesting with a 400.

        The body object adds one level around ``variables``, hence ``+ 1``.
        """
        too_deep = HTTPException(
            400, f"Request JSON is nested deeper than {self.max_json_depth} levels."
        )
        try:
            value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError:
            raise too_deep from None
        if nesting_exceeds(value, self.max_json_depth + 1):
            raise too_deep
        return value

    def _validate_batch_request(
        self, request_data: list[GraphQLRequestData], protocol: Any
    ) -> None:
        if self.schema.config.batching_config is None:
            raise HTTPException(
                400,
                "One operation per request: send a JSON object, not an array "
                "(batching is not enabled).",
            )
        super()._validate_batch_request(request_data, protocol)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        media_type = negotiate(request.headers.get("accept"))
        response: Response
        try:
            if not self.should_render_graphql_ide(StarletteRequestAdapter(request)):
                await self._admit(request, media_type)
            response = await self.run(request)
        except RequestRefused as refused:
            response = _error_response(
                refused.message,
                refused.code,
                refused.status,
                media_type,
                refused.headers,
                refused.extensions,
            )
        except DocumentRefused as refused:
            # like a document that cannot run: 400, or 200 for legacy JSON clients
            legacy = media_type == JSON and refused.code != RequestErrorCode.BAD_REQUEST
            response = _error_response(
                refused.message, refused.code, 200 if legacy else 400, media_type
            )
        except AuthenticationError as error:
            response = _error_response(
                str(error), error.code, 401, media_type, {"WWW-Authenticate": "Bearer"}
            )
        except ForbiddenError as error:
            response = _error_response(str(error), error.code, 403, media_type)
        except HTTPException as error:
            headers = {"Allow": "GET, POST"} if error.status_code == 405 else None
            code = STATUS_CODES.get(error.status_code, RequestErrorCode.BAD_REQUEST)
            response = _error_response(error.reason, code, error.status_code, media_type, headers)
        except Exception as error:
            if not is_timeout(error):
                raise
            # authentication's reads ran past the deadline: the database is stuck or slow
            log.warning("database deadline passed", extra={"error": str(error)})
            response = _error_response(
                TIMEOUT_MESSAGE, RequestErrorCode.TIMEOUT, 503, media_type, {"Retry-After": "1"}
            )
        else:
            self._negotiated(request, response, media_type)
            response = self._cacheable(request, response)
        # every answer carries the request's id, refusals before GraphQL runs included
        response.headers[REQUEST_ID_HEADER] = request_id_of(request)
        await response(scope, receive, send)

    async def _admit(self, request: Request, media_type: str | None) -> None:
        """Refuse what needs no parsing: unacceptable media type, content type, body size."""
        if media_type is None:
            raise RequestRefused(
                406,
                f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.",
                RequestErrorCode.NOT_ACCEPTABLE,
            )
        if request.method not in ("GET", "POST"):
            raise RequestRefused(
                405,
                "Use GET (queries) or POST.",
                RequestErrorCode.METHOD_NOT_ALLOWED,
                {"Allow": "GET, POST"},
            )
        if request.method != "POST":
            return
        content_type, _ = parse_content_type(request.headers.get("content-type", ""))
        if content_type != JSON:
            raise RequestRefused(
                415,
                f"Send the request body as {JSON}, not {content_type or 'nothing'}.",
                RequestErrorCode.UNSUPPORTED_MEDIA_TYPE,
            )
        await self._read_body(request)

    async def _read_body(self, request: Request) -> None:
        """Read the body into the request, counting bytes as they arrive (413 past the limit)."""
        limit = self.max_body_bytes
        too_large = RequestRefused(
            413,
            f"The request body is larger than {limit:,} bytes.",
            RequestErrorCode.PAYLOAD_TOO_LARGE,
        )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        # Starlette's Request.body() returns this instead of reading the stream again
        request._body = b"".join(chunks)

    def _negotiated(self, request: Request, response: Response, media_type: str | None) -> None:
        """Give a GraphQL response its media type, and its status for the newer one."""
        if response.media_type != JSON:
            return  # GraphiQL's page
        chosen = media_type or JSON
        response.headers["content-type"] = f"{chosen}; charset=utf-8"
        outcome = getattr(request.state, "graphql_outcome", None)
        if chosen == GRAPHQL_RESPONSE_JSON and response.status_code == 200 and outcome:
            response.status_code = 500 if outcome == "internal" else 400

    def _cacheable(self, request: Request, response: Response) -> Response:
        """A query named by its document id over GET, answered without errors, may be
        cached by the caller's browser (private: the answer is the caller's), and is
        revalidated by its ETag: an unchanged answer is a 304 without a body."""
        params = request.query_params
        named = "documentId" in params or "persistedQuery" in params.get("extensions", "")
        if not (request.method == "GET" and named and response.status_code == 200):
            return response
        if getattr(request.state, "graphql_errors", True):
            return response
        etag = f'W/"{hashlib.sha256(response.body).hexdigest()[:32]}"'
        headers = {
            "Cache-Control": f"private, max-age={self.document_max_age}",
            "Vary": f"Accept, Authorization, {GROUP_HEADER}",
            "ETag": etag,
        }
        presented = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
        if etag in presented:
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise RequestRefused(
                    405,
                    "GET runs queries only; send mutations with POST.",
                    RequestErrorCode.METHOD_NOT_ALLOWED,
                    {"Allow": "POST"},
                ) from error
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """A document that never ran has no ``data`` for clients of the newer media type."""
        response = process_result(result)
        request.state.graphql_errors = bool(result.errors)
        if isinstance(result, PreExecutionError) and result.errors:
            codes = {(e.extensions or {}).get("code") for e in result.errors}
            internal = RequestErrorCode.INTERNAL in codes
            request.state.graphql_outcome = "internal" if internal else "request"
            if negotiate(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON:
                response.pop("data", None)
        return response

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        runtime: Runtime = request.app.state.runtime
        request_id = request_id_of(request)
        if isinstance(request, WebSocket):
            # authenticated by its connection_init message (ontology.api.websocket)
            return None  # type: ignore[return-value]
        if response is not None and hasattr(response, "headers"):
            response.headers[REQUEST_ID_HEADER] = request_id
        if isinstance(request, Request) and self.should_render_graphql_ide(
            StarletteRequestAdapter(request)
        ):
            # The page is served before any context is used; nothing to authenticate.
            return None  # type: ignore[return-value]
        authorization = request.headers.get("authorization")
        group = request.headers.get(GROUP_HEADER)
        key_hash = presented_key_hash(authorization)
        limited = isinstance(request, Request)  # subscriptions: not limited yet
        if limited:
            self._refuse(runtime, self.rate_limiter.before_authentication(key_hash, group))
        with deadline(runtime.settings.db_timeout_ms / 1000 or None):
            caller = await runtime.services.keys.authenticate(authorization, group)
        if limited and key_hash is not None:
            self._refuse(runtime, self.rate_limiter.admit(key_hash, group, caller.group_id))
        return Context(
            runtime=runtime,
            caller=caller,
            loaders=Loaders(runtime, caller.group_id),
            request=request,
            response=response,
            request_id=request_id,
        )

    @staticmethod
    def _refuse(runtime: Runtime, refusal: RateRefusal | None) -> None:
        """Answer 429 for a request over its key's or group's rate (no GraphQL runs)."""
        if refusal is None:
            return
        runtime.metrics.rate_limited.labels(refusal.scope.value).inc()
        raise RequestRefused(
            429,
            refusal.message,
            RequestErrorCode.RATE_LIMITED,
            {"Retry-After": str(refusal.retry_after)},
            {"scope": refusal.scope.value, "retryAfter": refusal.retry_after},
        )


def _refuse_constant(name: str) -> float:
    # Python's parser accepts NaN and Infinity, which JSON does not have: stored, they
    # would make every later response that contains them invalid JSON.
    raise HTTPException(400, f"Request JSON contains {name}, which is not a JSON number.")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400 parses to inf
        raise HTTPException(400, f"Request JSON number {literal[:40]} is out of range.")
    return value


def _error_response(
    message: str,
    code: str,
    status: int,
    media_type: str | None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """A GraphQL-shaped error body; legacy clients also get ``data: null``."""
    chosen = media_type or JSON
    body: dict[str, Any] = {
        "errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]
    }
    if chosen == JSON:
        body = {"data": None, **body}
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers=headers,
        media_type=f"{chosen}; charset=utf-8",
    )
