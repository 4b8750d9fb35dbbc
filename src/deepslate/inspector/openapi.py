"""The inspector's API described as OpenAPI 3.1, written by hand as data (``GET /api/openapi.json``).

tests/inspector/test_api.py checks that every route the app serves is described here and that
everything described is served."""
from __future__ import annotations

from typing import Any

STATUSES = ["running", "sleeping", "waiting", "done", "failed", "cancelled"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the isolate's name as one percent-encoded path segment (a child 'a/1' is 'a%2F1')"}
_AUTH = {"401": _error("a token is configured and the request does not carry it"),
         "403": _error("the Host header does not name this loopback-only inspector")}
_ACTION = {**_AUTH,
           "403": _error("the X-Deepslate-Action: 1 header is missing (or the Host header is not a loopback name)"),
           "404": _error("no isolate of that name"),
           "503": _error("no engine can take the action: none runs, or this inspector has none in its process"),
           "504": _error("the engine did not answer in time; the action may still take effect")}
_ACTION_HEADER = {"name": "X-Deepslate-Action", "in": "header", "required": True,
                  "schema": {"const": "1"}, "description": "a header a cross-site form cannot send"}


def _page(path: str, media: str, what: str) -> dict[str, Any]:
    return {"get": {"summary": what, "operationId": f"page_{path.strip('/').replace('.', '_') or 'index'}",
                    "tags": ["dashboard"], "parameters": ([{
                        "name": "token", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "the token, once: it is kept in an HttpOnly cookie and the page "
                                       "reloads without it"}] if path == "/" else []),
                    "responses": {"200": {"description": what, "content": {media: {"schema": {"type": "string"}}}},
                                  **({"303": {"description": "the token was right: the cookie is set"}}
                                     if path == "/" else {}),
                                  **_AUTH}}}


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Status": {"type": "string", "enum": STATUSES},
    "IsolateSummary": {
        "type": "object",
        "required": ["name", "id", "flow", "status", "steps", "created_at", "updated_at"],
        "properties": {
            "name": {"type": "string"}, "id": {"type": "integer"}, "flow": {"type": "string"},
            "status": _ref("Status"), "steps": {"type": "integer"},
            "parent_id": {"type": ["integer", "null"]},
            "wake_at": {"type": ["number", "null"], "description": "unix time a sleep or a deadline ends"},
            "waiting_on": {"type": "string"},
            "error": {"type": ["string", "null"], "description": "a failed isolate's error message"},
            "created_at": {"type": "number"}, "updated_at": {"type": "number"}}},
    "IsolateList": {
        "type": "object", "required": ["items", "counts", "total", "next", "limit"],
        "properties": {
            "items": {"type": "array", "items": _ref("IsolateSummary")},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                       "description": "isolates by status in the whole store"},
            "total": {"type": "integer"},
            "next": {"type": ["string", "null"], "description": "cursor of the next page; null on the last"},
            "limit": {"type": "integer"}}},
    "Frame": {
        "type": "object", "required": ["function", "line", "locals"],
        "properties": {
            "function": {"type": "string"}, "filename": {"type": ["string", "null"]},
            "line": {"type": ["integer", "null"]}, "col": {"type": ["integer", "null"]},
            "locals": {"type": "object", "description": "local variables by name, as JSON values"},
            "types": {"type": "object", "additionalProperties": {"type": "string"}},
            "registers": {"type": "object", "description": "raw registers, when the program is not in the store"}}},
    "Wait": {
        "type": ["object", "null"],
        "properties": {"kind": {"type": "string"}, "until": {"type": ["number", "null"]},
                       "detail": {"type": "string"}, "method": {"type": "string"}, "route": {"type": "string"}}},
    "IsolateDetail": {
        "type": "object",
        "required": ["name", "id", "flow", "status", "result", "error", "program", "steps", "snapshot_bytes",
                     "wake_at", "waiting_on", "created_at", "updated_at", "parent", "children", "frames"],
        "properties": {
            "name": {"type": "string"}, "id": {"type": "integer"}, "flow": {"type": "string"},
            "status": _ref("Status"), "result": {"description": "the flow's return value (JSON)"},
            "error": {"type": ["object", "null"],
                      "properties": {"message": {"type": "string"},
                                     "frames": {"type": "array", "description": "[function, file, line, col]"}}},
            "program": {"type": "string", "description": "content hash of the program, hex"},
            "steps": {"type": "integer"}, "snapshot_bytes": {"type": "integer"},
            "wake_at": {"type": ["number", "null"]}, "waiting_on": {"type": "string"}, "wait": _ref("Wait"),
            "created_at": {"type": "number"}, "updated_at": {"type": "number"},
            "parent": {"type": ["string", "null"]}, "children": {"type": "array", "items": {"type": "string"}},
            "detached": {"type": "boolean"},
            "frames": {"type": "array", "items": _ref("Frame"), "description": "outermost first"},
            "sources": {"type": "object", "description": "each flow of the program: {filename, firstlineno, text}"},
            "log": {"type": "array", "items": {"type": "string"}},
            "inbox": {"type": "array", "items": {"type": "object"}}}},
    "Sample": {
        "type": "object", "required": ["t", "steps_per_second", "statuses"],
        "properties": {"t": {"type": "number"}, "steps_per_second": {"type": ["number", "null"]},
                       "statuses": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "source": {"type": "string", "enum": ["engine", "store"]}}},
    "Stats": {
        "type": "object", "required": ["interval", "window", "samples"],
        "properties": {"interval": {"type": "number"}, "window": {"type": "integer"},
                       "samples": {"type": "array", "items": _ref("Sample")}}},
    "RetryRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"failed_at": {"type": ["number", "null"],
                                     "description": "the updated_at of the failure seen: retried only if "
                                                    "the isolate is still that failure"}}},
    "SendRequest": {
        "type": "object", "required": ["method", "route"], "additionalProperties": False,
        "properties": {"method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                       "route": {"type": "string", "pattern": "^/"},
                       "body": {"type": "string", "description": "the body as text (UTF-8)"},
                       "body_base64": {"type": "string", "description": "the body as base64, instead of body"}}},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "deepslate inspector", "version": "1",
             "description": "Isolates of a deepslate store: list, detail with frames and locals, and the "
                            "actions cancel, retry and send. Every error is {\"error\": message}."},
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "cookie": {"type": "apiKey", "in": "cookie", "name": "deepslate_inspector_{port}"}}},
    "security": [{}, {"bearer": []}, {"cookie": []}],
    "paths": {
        "/": _page("/", "text/html", "the dashboard"),
        "/app.js": _page("/app.js", "text/javascript", "the dashboard's script"),
        "/app.css": _page("/app.css", "text/css", "the dashboard's style sheet"),
        "/api/isolates": {"get": {
            "summary": "isolates, most recently updated first", "operationId": "list_isolates",
            "parameters": [
                {"name": "status", "in": "query", "schema": _ref("Status")},
                {"name": "flow", "in": "query", "schema": {"type": "string"}},
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
                 "description": "a substring of the name (ASCII letters in any case)"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                                            "default": 50}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "the previous page's next: pages do not shift while isolates update"}],
            "responses": {"200": _json(_ref("IsolateList"), "a page of isolates"),
                          "400": _error("a parameter is not valid (the message names it)"), **_AUTH}}},
        "/api/isolates/{name}": {"get": {
            "summary": "one isolate: frames with named locals, sources, wait, log, inbox",
            "operationId": "get_isolate", "parameters": [_NAME],
            "responses": {"200": _json(_ref("IsolateDetail"), "the isolate"),
                          "404": _error("no isolate of that name"), **_AUTH}}},
        "/api/isolates/{name}/cancel": {"post": {
            "summary": "cancel the isolate and its attached children", "operationId": "cancel_isolate",
            "parameters": [_NAME, _ACTION_HEADER],
            "responses": {"200": _json({"type": "object"}, "cancelled"),
                          "409": _error("it has already ended"), **_ACTION}}},
        "/api/isolates/{name}/retry": {"post": {
            "summary": "run a failed isolate again from its last good snapshot", "operationId": "retry_isolate",
            "parameters": [_NAME, _ACTION_HEADER],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("RetryRequest")}}},
            "responses": {"200": _json({"type": "object"}, "retried"),
                          "400": _error("the body is not valid (the message names the field)"),
                          "409": _error("not failed, failed again since failed_at, or already retried"),
                          **_ACTION}}},
        "/api/isolates/{name}/send": {"post": {
            "summary": "deliver a message to the isolate's http_listen(method, route)",
            "operationId": "send_message", "parameters": [_NAME, _ACTION_HEADER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SendRequest")}}},
            "responses": {"202": _json({"type": "object", "properties": {"id": {"type": "integer"}}},
                                       "committed to the isolate tree's inbox"),
                          "400": _error("the body is not valid (the message names the field)"),
                          "409": _error("the isolate's tree has ended: nothing listens any more"),
                          "413": _error("the message body is over the ingress's limit"), **_ACTION}}},
        "/api/flows": {"get": {
            "summary": "the flows the store's isolates run", "operationId": "list_flows",
            "responses": {"200": _json({"type": "object", "properties": {
                "flows": {"type": "array", "items": {"type": "string"}}}}, "flow names, sorted"), **_AUTH}}},
        "/api/stats": {"get": {
            "summary": "steps per second and isolates by status, about one sample a second for ten minutes",
            "operationId": "stats", "responses": {"200": _json(_ref("Stats"), "the time series"), **_AUTH}}},
        "/metrics": {"get": {
            "summary": "the engine's metrics (or the store's isolates by status) in the Prometheus text format",
            "operationId": "metrics",
            "responses": {"200": {"description": "text format 0.0.4",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}, **_AUTH}}},
        "/api/openapi.json": {"get": {
            "summary": "this document", "operationId": "openapi",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_AUTH}}},
    },
}
