"""Who may ask: loopback clients, and others only with the token; and headers that keep pages safe.

- With no `web.token`, only loopback clients reach the API. With one, every other client must send
  it (`Authorization: Bearer <token>` or `?token=<token>`). A request that carries proxy headers
  (Forwarded, X-Forwarded-For, X-Real-IP) counts as remote: a proxy on this machine is not a user.
- Browsers: a loopback request from another site (its Origin differs) is refused, and so is a Host
  the server does not answer to, which stops DNS-rebinding pages from reading the index.
- The page and its scripts are served to anyone who may connect; they hold no data. `/metrics` does
  (folders, counts): it is guarded as the API is, and Prometheus sends the token as a Bearer header.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from urllib.parse import parse_qs, urlsplit

from ocrwatch.web.problems import send_problem

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-real-ip")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # keeps ?token= out of other sites' logs
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
]


def is_loopback(host: str | None) -> bool:
    """Listening on `::` an IPv4 client's address is IPv4-mapped (::ffff:127.0.0.1), which Python's
    `is_loopback` (before 3.13) does not call loopback: it is judged by the IPv4 address it maps."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class Guard:
    """ASGI middleware: the access rules above, and the security headers on every answer."""

    def __init__(self, app, token: str | None, host: str) -> None:
        self.app = app
        self.token = token.encode("utf-8") if token else None
        self.hosts = set(LOOPBACK_NAMES)
        if host not in ("0.0.0.0", "::", ""):
            self.hosts.add(host.lower())
        else:  # listening everywhere: this machine's own names are fine too
            self.hosts.update({socket.gethostname().lower(), socket.getfqdn().lower()})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        refusal = self.check(scope)
        if refusal is not None:
            status, detail, headers = refusal
            await send_problem(send_with_headers, status, detail, headers)
            return
        await self.app(scope, receive, send_with_headers)

    def check(self, scope) -> tuple[int, str, dict[str, str]] | None:
        if not (scope["path"].startswith("/api/") or scope["path"] == "/metrics"):
            return None
        headers = dict(scope["headers"])
        client = scope.get("client")
        local = is_loopback(client[0] if client else None) and not any(h in headers for h in PROXY_HEADERS)
        presented = self._presented_token(scope, headers)
        if presented is not None and self.token is None:
            return 401, "this server has no token (web.token) set; do not send one", {}
        if presented is not None and not hmac.compare_digest(presented, self.token or b""):
            return 401, "wrong token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        if presented is not None:
            return None  # the token grants access from anywhere, whatever the Host and Origin
        if not local:
            if self.token is None:
                return 403, "this server answers loopback clients only; set web.token to let others in", {}
            return (
                401,
                "a token is required: send Authorization: Bearer <token>",
                {"WWW-Authenticate": "Bearer"},
            )
        host = _hostname(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.hosts:
            return 403, f"this server does not answer to the host name {host!r}", {}
        origin = headers.get(b"origin")
        if origin is not None and not _same_origin(origin.decode("latin-1"), headers.get(b"host", b"")):
            return 403, "a request from another site's page is refused", {}
        return None

    def _presented_token(self, scope, headers: dict[bytes, bytes]) -> bytes | None:
        authorization = headers.get(b"authorization")
        if authorization is not None:
            scheme, _, value = authorization.partition(b" ")
            if scheme.lower() == b"bearer":
                return value.strip()
            return b"\0unsupported-scheme"  # never matches: only Bearer is accepted
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return values[-1].encode("utf-8") if values else None


def _hostname(host: str) -> str:
    """The host name of a Host header value, without its port."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same_origin(origin: str, host: bytes) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.decode("latin-1").lower()
