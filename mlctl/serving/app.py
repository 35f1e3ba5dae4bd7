"""The ASGI application: /predict and /invocations on a lean raw-ASGI path, everything
else (/health, /ping, /metadata, /metrics, 404s) through a small starlette app.

Per request the hot path does: read the body (size-limited), parse it straight into the
model's array when it holds numbers only (mlctl/serving/numeric_body.py), else parse it
with orjson and turn it into the model's input (mlctl/serving/inputs.py), await the
micro-batcher, write the answer with orjson, then — after the answer is sent — count it, queue it for the prediction log and
start the shadow call. No middleware, no per-request objects beyond the input itself.
"""

from __future__ import annotations

import hmac
import itertools
import os
import sys
import time

import orjson

from mlctl.net import MISDIRECTED, HostCheck, host_header
from mlctl.serving import formats
from mlctl.serving.batching import PredictTimeout
from mlctl.serving.inputs import InputError
from mlctl.serving.metrics import LATENCY_BUCKETS
from mlctl.serving.numeric_body import INVOCATION_KEYS, PREDICT_KEYS, numeric_array

JSON_HEADERS = [(b"content-type", b"application/json")]
OPTS = orjson.OPT_SERIALIZE_NUMPY
OPEN_PATHS = frozenset({"/health", "/ping", "/health/live", "/health/ready"})


class BodyTooLarge(Exception):
    pass


class ServingApp:
    def __init__(self, state, hosts: HostCheck | None = None):
        self.state = state
        self.hosts = hosts  # bound to loopback: only literal loopback Host values (DNS rebinding)
        token = state.settings.token
        self.auth = ("Bearer " + token).encode() if token else None
        self.max_body = state.settings.max_body_bytes
        self.fast = {"/predict": False, "/invocations": True}
        self.new_id = request_ids()
        from mlctl.serving.routes import build_routes

        self.routes = build_routes(state, self.authorized)

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            if self.hosts is not None and not self.hosts.allows(host_header(scope["headers"])):
                return await _misdirected(send)
            invocations = self.fast.get(scope["path"])
            if invocations is not None and scope["method"] == "POST":
                await self.predict(scope, receive, send, invocations)
            else:
                await self.routes(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.state.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.state.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def authorized(self, headers) -> bool:
        if self.auth is None:
            return True
        for name, value in headers:
            if name == b"authorization":
                return hmac.compare_digest(value, self.auth)
        return False

    # -- the hot path -----------------------------------------------------------------------
    async def predict(self, scope, receive, send, invocations: bool) -> None:
        started = time.perf_counter()
        state = self.state
        rid, given, length, ctype, auth_ok = self._headers(scope["headers"])
        slot = X = preds = None
        try:
            if not auth_ok:
                raise InputError("missing or wrong bearer token", status=401)
            if length is not None and length > self.max_body:
                raise BodyTooLarge()
            body = await self._body(receive)
            slot = state.pick(rid, given)
            X = self._numbers_only(body, ctype, slot, invocations)
            if X is None:
                X = await self._prepare(body, ctype, slot, invocations)
            preds = await slot.extra["batcher"].submit(X, len(X))
            status, payload = 200, _answer(preds, slot, rid, invocations)
        except InputError as exc:
            status, payload = exc.status, _error(exc.status, exc.message, exc.column, rid, invocations)
        except BodyTooLarge:
            status = 413
            payload = _error(413, f"body larger than the limit of {self.max_body} bytes", None, rid, invocations)
        except PredictTimeout as exc:
            status, payload = 504, _error(504, str(exc), None, rid, invocations)
            _log_failure(rid, slot, exc)
        except ClientGone:
            return
        except Exception as exc:  # the model raised: 500 with the id, and the server goes on
            status = 500
            payload = _error(500, f"model error ({type(exc).__name__}); request id {rid}", None, rid, invocations)
            _log_failure(rid, slot, exc)
        await send({"type": "http.response.start", "status": status,
                    "headers": JSON_HEADERS + [(b"x-request-id", rid.encode()),
                                               (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
        self._after(started, status, invocations, rid, slot, X, preds)

    def _numbers_only(self, body, ctype, slot, invocations: bool):
        """The model's array straight from a body of numbers (numeric_body.py), or None.
        Only the content type is asked about CSV: an empty body fails the parse here and
        gets its 400 from the general path."""
        if (slot.mode != "array" or self.state.features is not None or self.state.gate is not None
                or formats.csv_type(ctype, invocations)):
            return None
        return numeric_array(body, slot.columns, INVOCATION_KEYS if invocations else PREDICT_KEYS)

    async def _prepare(self, body, ctype, slot, invocations: bool):
        """Any body: parsed, completed from the feature store, checked, as the model's input."""
        state = self.state
        if state.features is None:
            rows = formats.decode(body, ctype, slot.columns, invocations)
            plain = formats.plain_numbers(body, ctype, invocations)
        else:
            rows, plain = await self._with_features(body, ctype, slot, invocations), False
        X = slot.prepare(rows, plain)
        if state.gate is not None:  # after prepare: the values already have their types
            state.gate.check(rows)
        return X

    async def _with_features(self, body, ctype, slot, invocations: bool) -> list:
        """Complete each row from the online store (on a thread: it queries the store)."""
        import asyncio

        from mlctl.serving.inputs import rows_from_records

        records = formats.decode_records(body, ctype, invocations)
        records = await asyncio.get_running_loop().run_in_executor(
            None, self.state.features.enrich, records, slot.columns, not invocations)
        return rows_from_records(records, slot.columns, strict=False)

    def _headers(self, headers):
        rid, given, length, ctype = None, False, None, None
        auth_ok = self.auth is None
        for name, value in headers:
            if name == b"x-request-id":
                text = value.decode("latin-1").strip()
                if 0 < len(text) <= 200 and text.isprintable():
                    rid, given = text, True
            elif name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"content-type":
                ctype = value
            elif name == b"authorization" and self.auth is not None:
                auth_ok = hmac.compare_digest(value, self.auth)
        return rid or self.new_id(), given, length, ctype, auth_ok

    async def _body(self, receive) -> bytes:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        body = message.get("body", b"")
        if not message.get("more_body"):
            if len(body) > self.max_body:
                raise BodyTooLarge()
            return body
        chunks, size = [body], len(body)
        while message.get("more_body"):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge()
            chunks.append(chunk)
        return b"".join(chunks)

    def _after(self, started, status, invocations, rid, slot, X, preds) -> None:
        """Bookkeeping once the client has its answer."""
        state = self.state
        m = state.metrics
        endpoint = "/invocations" if invocations else "/predict"
        m.observe("mlctl_request_duration_seconds", (("endpoint", endpoint),),
                  time.perf_counter() - started, LATENCY_BUCKETS)
        if slot is None:
            m.inc("mlctl_requests_total", (("endpoint", endpoint), ("status", status), ("model", ""), ("version", ""), ("role", "")))
            return
        labels = (("model", slot.name), ("version", slot.version), ("role", slot.role))
        m.inc("mlctl_requests_total", (("endpoint", endpoint), ("status", status)) + labels)
        if preds is None:
            if status >= 500:
                m.inc("mlctl_model_errors_total", labels)
            return
        m.inc("mlctl_predictions_total", labels, len(preds))
        if state.log is not None:
            state.log.put(rid, slot, X, preds)
            m.inc("mlctl_prediction_log_rows_total", (), len(preds))
        if state.shadow is not None:
            state.start_shadow(rid, slot, X)


def request_ids():
    """Generated request ids: 64 random bits drawn once per worker, then a counter; 32 hex
    characters like a uuid4's. uuid4 reads the OS's random source for every request, a few
    microseconds of the event loop's ~0.07 ms; ids stay unique across workers and restarts
    (each worker builds its app after the fork, so each draws its own bits)."""
    prefix = os.urandom(8).hex()
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter):016x}"


class ClientGone(Exception):
    pass


async def _misdirected(send) -> None:
    await send({"type": "http.response.start", "status": 421,
                "headers": JSON_HEADERS + [(b"content-length", str(len(MISDIRECTED)).encode())]})
    await send({"type": "http.response.body", "body": MISDIRECTED})


def _answer(preds, slot, rid: str, invocations: bool) -> bytes:
    if invocations:
        doc = {"predictions": preds}
    else:
        doc = {"predictions": preds, "model": slot.name, "version": slot.version, "request_id": rid}
    try:
        return orjson.dumps(doc, option=OPTS)
    except TypeError:  # object arrays (string labels) and other exotic outputs
        doc["predictions"] = preds.tolist()
        return orjson.dumps(doc, option=OPTS, default=str)


def _error(status: int, message: str, column, rid: str, invocations: bool) -> bytes:
    if invocations:  # MLflow's error shape, so MLflow clients report it the same way
        code = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 413: "BAD_REQUEST"}.get(status, "INTERNAL_ERROR")
        doc = {"error_code": code, "message": message, "request_id": rid}
    else:
        doc = {"error": message, "request_id": rid}
    if column is not None:
        doc["column"] = column
    return orjson.dumps(doc)


def _log_failure(rid: str, slot, exc: BaseException) -> None:
    where = f"{slot.name}:{slot.version}" if slot is not None else "-"
    sys.stderr.write(f"mlctl serve: request {rid} failed on {where} (pid {os.getpid()}): "
                     f"{type(exc).__name__}: {exc}\n")
