"""What every request passes before it reaches a route: GET/HEAD only, a Host check,
the token, and the security headers every response carries.

- No write endpoint exists, and any other method is refused here (405) before routing,
  so a route added later cannot accept a write by accident.
- Bound to a loopback address, only a literal loopback ``Host`` with the server's port
  (``localhost:PORT``, ``127.x.y.z:PORT``, ``[::1]:PORT``; see mlctl/net.py) is served: a
  web page on another site cannot reach the dashboard by DNS rebinding.
- With a token: ``Authorization: Bearer TOKEN``, or the ``mlctl_ui_token`` cookie that
  ``?token=TOKEN`` sets (a page URL with the token is redirected to the same URL
  without it, so it does not linger in the address bar or the history).
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from mlctl.net import HostCheck, host_header

COOKIE = "mlctl_ui_token"
ALLOWED_METHODS = (b"GET", b"HEAD")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class Guard:
    def __init__(self, app, token: str | None = None, hosts: HostCheck | None = None):
        self.app = app
        self.token = token
        self.hosts = hosts  # None: bound to a non-loopback address, any Host is answered

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self.refusal(scope)
        if refusal is not None:
            return await _send_json(send, *refusal)
        if self.token and _token_param(scope) is not None and _same(_token_param(scope), self.token):
            return await self.accept_token(scope, receive, send)
        if self.token and not self.authorised(scope):
            return await _send_json(send, 401, "missing or wrong token",
                                    "open the URL `mlctl ui` printed (it ends in ?token=...), or send "
                                    "'Authorization: Bearer TOKEN'", [(b"www-authenticate", b"Bearer")])
        await self.app(scope, receive, _with_headers(send, scope))

    def refusal(self, scope):
        method = scope["method"].encode()
        if method not in ALLOWED_METHODS:
            return (405, f"method {scope['method']} not allowed: the dashboard is read-only",
                    "only GET and HEAD are served", [(b"allow", b"GET, HEAD")])
        if self.hosts is not None:
            host = host_header(scope.get("headers", ()))
            if not self.hosts.allows(host):
                return (421, f"host {host.decode('latin-1')[:100]!r} not served: the dashboard listens on a "
                             f"loopback address", f"open it as http://127.0.0.1:{self.hosts.port}/ or start "
                                                  f"it with --host", [])
        return None

    def authorised(self, scope) -> bool:
        given = _header(scope, b"authorization") or ""
        if given.lower().startswith("bearer ") and _same(given[7:].strip(), self.token):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(_header(scope, b"cookie") or "")
        except Exception:
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and _same(morsel.value, self.token)

    async def accept_token(self, scope, receive, send):
        """A right ?token=: remember it in a cookie; pages are redirected without it."""
        set_cookie = (b"set-cookie", f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode())
        if not scope["path"].startswith(("/api/", "/static/")):
            rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
                    if k != "token"]
            location = scope["path"] + ("?" + urlencode(rest) if rest else "")
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location.encode()), set_cookie, *SECURITY_HEADERS,
                                    (b"content-length", b"0")]})
            return await send({"type": "http.response.body", "body": b""})
        await self.app(scope, receive, _with_headers(send, scope, [set_cookie]))


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _token_param(scope) -> str | None:
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        if key == "token":
            return value
    return None


def _with_headers(send, scope, extra=()):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            headers += [h for h in SECURITY_HEADERS if h[0] not in names]
            if b"content-security-policy" not in names:
                headers.append((b"content-security-policy", CSP.encode()))
            headers += list(extra)
            message = {**message, "headers": headers}
        await send(message)
    return wrapped


async def _send_json(send, status: int, message: str, hint: str, headers=()):
    body = json.dumps({"error": message, "status": status, "hint": hint}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS, *headers]})
    await send({"type": "http.response.body", "body": body})
