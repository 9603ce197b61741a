"""Who may use the API, proved with real clients: a real uvicorn server (configured as `ocrwatch serve`
configures it) listening beyond loopback, and requests from this machine's own non-loopback address,
which the server sees as a remote client. No client address is faked."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from ocrwatch.config import Settings, WebSettings, load_settings
from ocrwatch.errors import ConfigError
from ocrwatch.index import Index
from ocrwatch.web.app import make_server
from tests.webserver import ServerThread

TOKEN = "a-test-token-that-is-long-enough"
SPOOFED = (
    {"Forwarded": "for=127.0.0.1"},
    {"X-Real-IP": "127.0.0.1"},
    {"X-Forwarded-For": "127.0.0.1"},
    {"Forwarded": "for=127.0.0.1", "X-Real-IP": "127.0.0.1", "X-Forwarded-For": "127.0.0.1"},
)
"""Headers a remote client may send to pass for a loopback one."""


def address(family: socket.AddressFamily, probe: str) -> str | None:
    """This machine's address of `family` beyond loopback: the source of a route to `probe` (a UDP
    connect sends nothing), else what the host name resolves to."""
    found = []
    with suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as udp:
        udp.connect((probe, 9))
        found.append(udp.getsockname()[0])
    with suppress(OSError):
        found += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, family)]
    for candidate in found:
        parsed = ipaddress.ip_address(candidate)
        if not (parsed.is_loopback or parsed.is_unspecified or parsed.is_link_local):
            return candidate
    return None


@pytest.fixture(scope="module")
def remote_ip() -> str:
    found = address(socket.AF_INET, "203.0.113.1")
    if found is None:
        pytest.skip("this machine has no IPv4 address beyond loopback to be a remote client from")
    return found


@contextmanager
def serving(tmp_path: Path, engine, host: str, token: str | None = None) -> Iterator[ServerThread]:
    settings = Settings(output=tmp_path / "out", web=WebSettings(host=host, token=token))
    with (
        Index(settings.database_url) as index,
        ServerThread(make_server(settings, index, engine), host) as server,
    ):
        yield server


def get(url: str, headers: dict[str, str] | None = None, **params: str) -> httpx.Response:
    return httpx.get(url, headers=headers, params=params, timeout=60)


def assert_refused(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"], response.text


def test_without_a_token_only_loopback_clients_are_answered(tmp_path: Path, engine, remote_ip: str) -> None:
    with serving(tmp_path, engine, "0.0.0.0") as server:
        remote = f"http://{remote_ip}:{server.port}"
        assert get(f"{server.url}/api/stats").status_code == 200, "a real loopback client"
        assert_refused(get(f"{remote}/api/stats"), 403, "answers loopback clients only")
        for headers in SPOOFED:
            assert_refused(get(f"{remote}/api/stats", headers), 403, "loopback clients only")
            assert_refused(get(f"{remote}/api/stats", {**headers, "Host": "localhost"}), 403, "loopback")
        # A token means nothing to a server that has none: it grants no access from beyond loopback.
        assert_refused(get(f"{remote}/api/stats", {"Authorization": f"Bearer {TOKEN}"}), 401, "has no token")
        assert_refused(get(f"{remote}/api/stats", token=TOKEN), 401, "has no token")
        # The page holds no data: anyone who may connect gets it, and it asks for a token itself.
        page = get(f"{remote}/")
        assert page.status_code == 200 and "<html" in page.text.lower()


def test_headers_from_a_proxy_on_this_machine_do_not_make_a_request_local(tmp_path: Path, engine) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 and rewrites the client address with it; the
    request still counts as remote, as every request with proxy headers does."""
    with serving(tmp_path, engine, "127.0.0.1", TOKEN) as server:
        assert get(f"{server.url}/api/stats").status_code == 200
        for headers in (*SPOOFED, {"X-Forwarded-For": "203.0.113.9"}):
            assert_refused(get(f"{server.url}/api/stats", headers), 401, "a token is required")


def test_with_a_token_a_remote_client_needs_it(tmp_path: Path, engine, remote_ip: str) -> None:
    with serving(tmp_path, engine, "0.0.0.0", TOKEN) as server:
        remote = f"http://{remote_ip}:{server.port}"
        response = get(f"{remote}/api/stats")
        assert_refused(response, 401, "a token is required")
        assert response.headers["www-authenticate"] == "Bearer"
        for headers in SPOOFED:
            assert_refused(get(f"{remote}/api/stats", headers), 401, "a token is required")
        assert_refused(get(f"{remote}/api/stats", {"Authorization": "Bearer not-the-token"}), 401, "wrong")
        assert_refused(get(f"{remote}/api/stats", {"Authorization": f"Basic {TOKEN}"}), 401, "wrong token")
        assert_refused(get(f"{remote}/api/stats", token=TOKEN[:-1]), 401, "wrong token")
        assert get(f"{remote}/api/stats", {"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert get(f"{remote}/api/stats", token=TOKEN).status_code == 200
        assert get(f"{server.url}/api/stats").status_code == 200, "loopback needs no token"


def test_the_page_opened_with_its_token_works_as_the_readme_says(
    tmp_path: Path, engine, remote_ip: str
) -> None:
    """README: open the page as http://host:5000/?token=<token>. The page script keeps the token and
    sends it as a Bearer header to the API, and as ?token= where it cannot send headers (images)."""
    with serving(tmp_path, engine, "0.0.0.0", TOKEN) as server:
        remote = f"http://{remote_ip}:{server.port}"
        page = get(f"{remote}/", token=TOKEN)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert page.headers["referrer-policy"] == "no-referrer"  # the token in the address stays here
        script = get(f"{remote}/static/api.js", token=TOKEN)
        assert script.status_code == 200 and 'searchParams.get("token")' in script.text
        assert get(f"{remote}/api/stats", {"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        # An image URL with ?token= passes the guard: the answer is about the document, not access.
        assert_refused(get(f"{remote}/api/documents/1/pages/1/image", token=TOKEN), 404, "")
        assert_refused(get(f"{remote}/api/documents/1/pages/1/image"), 401, "a token is required")


def test_a_loopback_client_of_a_server_on_ipv6_and_ipv4_is_local(tmp_path: Path, engine) -> None:
    """Listening on `::`, an IPv4 client's address arrives as ::ffff:127.0.0.1; it is still loopback."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with serving(tmp_path, engine, "::") as server:
        assert get(f"http://127.0.0.1:{server.port}/api/stats").status_code == 200
        assert get(f"http://[::1]:{server.port}/api/stats").status_code == 200
        remote_ip = address(socket.AF_INET6, "2001:db8::1")
        if remote_ip is not None:
            assert_refused(get(f"http://[{remote_ip}]:{server.port}/api/stats"), 403, "loopback clients only")


def test_a_token_shorter_than_the_minimum_is_refused_at_config_load(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  host: 0.0.0.0\n  token: fifteen-chars-x\n")
    with pytest.raises(ConfigError, match=r"web\.token: String should have at least 16 characters") as raised:
        load_settings(config)
    assert "fifteen-chars-x" not in str(raised.value), "a config error never prints the token"
    config.write_text("web:\n  host: 0.0.0.0\n  token: sixteen-chars-xx\n")
    assert load_settings(config).web.token == "sixteen-chars-xx"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "**and set `web.token`** (16 characters or more)" in readme
