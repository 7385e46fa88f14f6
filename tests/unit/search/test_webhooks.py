"""Webhook delivery without Elasticsearch: the signature, the URL check, and where the dispatcher
really connects (DNS rebinding, proxies from the environment, Host, SNI and certificate checks).

Receivers are local HTTP(S) servers; "DNS" is injected into the guard and, where the test must show
that nothing else resolves the name, into ``socket.getaddrinfo`` as well.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.search.alerts import (
    MAX_ATTEMPTS,
    WebhookDispatcher,
    WebhookRefused,
    check_webhook_url,
    sign,
    verify,
)
from shared.ssrf import SsrfGuard

PUBLIC = "93.184.215.14"  # any global address; the tests never let a packet leave the machine
SECRET = "unit-secret"


# --- a local receiver -----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    status: int = 204
    sni: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


def _start(tls: ssl.SSLContext | None = None) -> Receiver:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive possible: the client must not reuse across names

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            holder[0].requests.append(Received(self.path, dict(self.headers), body))
            self.send_response(holder[0].status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    holder.append(receiver)
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: receiver.sni.append(name)  # type: ignore[assignment,misc]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = _start()
    yield r
    r.server.shutdown()
    r.server.server_close()


# --- a dispatcher over a fake Elasticsearch -------------------------------------------------------


class FakeEs:
    """Just what WebhookDispatcher._deliver calls: one saved search, one article, recorded updates."""

    def __init__(self, webhook_url: str) -> None:
        self.saved = {"id": "s1", "name": "Pemkab Blora", "query": "blora", "webhook_url": webhook_url}
        self.updates: list[dict[str, Any]] = []
        self.indices = self  # get_alias: the one index behind the articles alias

    def options(self, **_: Any) -> FakeEs:
        return self

    def get(self, index: str, id: str) -> dict[str, Any]:
        return {"_source": dict(self.saved), "_seq_no": len(self.updates), "_primary_term": 1}

    def get_alias(self, name: str) -> dict[str, Any]:
        return {"articles-v1": {"aliases": {name: {}}}}

    def mget(self, docs: list[dict[str, str]], source: list[str]) -> dict[str, Any]:
        article = {
            "id": "a1",
            "url": "https://suarablora.example/a1",
            "title": "Banjir di Blora",
            "source": "suarablora.example",
        }
        return {"docs": [{"found": True, "_id": "a1", "_source": article}]}

    def update(self, index: str, id: str, **kwargs: Any) -> dict[str, Any]:
        self.updates.append({"index": index, "id": id, **kwargs})
        return {}

    def delivery_updates(self) -> list[dict[str, Any]]:
        return [u["doc"] for u in self.updates if u["index"].endswith("webhook-deliveries")]

    def state_updates(self) -> list[dict[str, Any]]:
        """The delivery state written on the saved search, each conditional on what was read."""
        assert all("if_seq_no" in u for u in self.updates if u["index"].endswith("saved-searches"))
        return [u["doc"] for u in self.updates if u["index"].endswith("saved-searches")]


def deliver(url: str, guard: SsrfGuard, attempts: int = 0, **kwargs: Any) -> FakeEs:
    es = FakeEs(url)
    dispatcher = WebhookDispatcher(es, "t-", "t-articles", SECRET, guard, timeout_s=5, **kwargs)  # type: ignore[arg-type]
    try:
        dispatcher._deliver(
            {"id": "d1", "saved_search_id": "s1", "article_ids": ["a1"], "attempts": attempts, "log": []}
        )
    finally:
        dispatcher.client.close()
    return es


# --- signature ------------------------------------------------------------------------------------


def test_signature_covers_the_timestamp_and_the_body() -> None:
    body = b'{"delivery_id": "d1"}'
    ts = "1735689600"
    expected = "sha256=" + hmac.new(SECRET.encode(), b"1735689600." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, ts, body) == expected
    now = 1735689600 + 10
    assert verify(SECRET, ts, expected, body, now=now)
    assert not verify(SECRET, ts, expected, body + b" ", now=now)  # body changed
    assert not verify(SECRET, "1735689601", expected, body, now=now)  # timestamp changed
    assert not verify("other", ts, expected, body, now=now)
    # A replay more than five minutes later is refused, in either direction.
    assert not verify(SECRET, ts, expected, body, now=1735689600 + 301)
    assert not verify(SECRET, ts, expected, body, now=1735689600 - 301)
    assert not verify(SECRET, "", expected, body, now=now)
    # The old body-only signature no longer verifies.
    old = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert not verify(SECRET, ts, old, body, now=now)


def test_delivery_sends_timestamp_and_signature_headers(receiver: Receiver) -> None:
    guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{receiver.port}"])
    before = int(time.time())
    es = deliver(f"http://127.0.0.1:{receiver.port}/hook?k=1", guard)
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.path == "/hook?k=1"
    ts = got.headers["X-Warta-Timestamp"]
    assert before <= int(ts) <= int(time.time())
    assert got.headers["X-Warta-Signature"] == sign(SECRET, ts, got.body)
    assert verify(SECRET, ts, got.headers["X-Warta-Signature"], got.body)
    assert got.headers["X-Warta-Delivery"] == "d1"
    assert got.headers["Content-Type"] == "application/json"
    assert es.delivery_updates()[-1]["status"] == "delivered"
    [state] = es.state_updates()
    assert state == {"delivery_status": "ok", "consecutive_failures": 0, "last_delivery_error": None,
                     "last_delivery_at": state["last_delivery_at"]}  # fmt: skip


# --- where the dispatcher connects -----------------------------------------------------------------


class RebindingDns:
    """A name whose first answer is a public address and every later one 127.0.0.1: what an
    attacker's DNS server with a TTL of 0 does between a check and a connect."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.queries = 0
        self._real = socket.getaddrinfo

    def _answer(self) -> str:
        self.queries += 1
        return PUBLIC if self.queries == 1 else "127.0.0.1"

    def resolve(self, host: str, port: int) -> list[str]:
        assert host == self.name
        return [self._answer()]

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == self.name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self._answer(), int(port)))]
        return self._real(host, port, *args, **kwargs)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address a socket connects to. Connections to PUBLIC are refused on the spot."""
    seen: list[tuple[str, int]] = []
    real = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        seen.append((address[0], address[1]))
        if address[0] == PUBLIC:
            raise ConnectionRefusedError(111, "refused by the test")
        real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def test_dns_rebinding_cannot_send_a_delivery_to_loopback(
    receiver: Receiver, connections: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = RebindingDns("rebind.example")
    # The guard gets the resolver injected; the system resolver (what httpx would use for a second
    # lookup) answers from the same rebinding server.
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    es = deliver(f"http://rebind.example:{receiver.port}/hook", SsrfGuard(resolver=dns.resolve))
    assert receiver.requests == [], "the delivery reached 127.0.0.1"
    assert ("127.0.0.1", receiver.port) not in connections
    assert connections == [(PUBLIC, receiver.port)], "it connects to the address it checked"
    assert dns.queries == 1, "the name is resolved once"
    entry = es.delivery_updates()[-1]["log"][-1]
    assert entry["error"].startswith("ConnectError")
    assert es.delivery_updates()[-1]["status"] == "pending"


def test_a_name_resolving_to_loopback_is_refused_at_delivery(receiver: Receiver) -> None:
    guard = SsrfGuard(resolver=lambda host, port: ["127.0.0.1"])
    es = deliver(f"http://hooks.example:{receiver.port}/hook", guard)
    assert receiver.requests == []
    entry = es.delivery_updates()[-1]["log"][-1]
    assert entry["error"].startswith("refused: the host is or resolves to 127.0.0.1")
    assert es.state_updates()[0]["delivery_status"] == "failing"


def test_proxy_environment_variables_are_ignored(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = _start()
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{receiver.port}"])
        deliver(f"http://127.0.0.1:{receiver.port}/hook", guard)
        assert proxy.requests == [], "the delivery went through the proxy"
        assert len(receiver.requests) == 1
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()


def test_connects_to_the_checked_address_with_the_name_as_host(receiver: Receiver) -> None:
    guard = SsrfGuard(allow_hosts=[f"hooks.example:{receiver.port}"], resolver=lambda host, port: ["127.0.0.1"])
    deliver(f"http://hooks.example:{receiver.port}/hook", guard)
    assert [r.headers["Host"] for r in receiver.requests] == [f"hooks.example:{receiver.port}"]


# --- https: SNI and certificate verification use the name -------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and a server certificate for hooks.example only."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=Warta test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=hooks.example", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=DNS:hooks.example\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf", cwd=d)  # fmt: skip
    return d


@pytest.fixture
def tls_receiver(pki: Path) -> Iterator[Receiver]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    r = _start(ctx)
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_https_delivery_verifies_the_certificate_of_the_name(tls_receiver: Receiver, pki: Path) -> None:
    port = tls_receiver.port
    client_ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    guard = SsrfGuard(allow_hosts=[f"hooks.example:{port}", f"other.example:{port}"],
                      resolver=lambda host, port: ["127.0.0.1"])  # fmt: skip
    dispatcher = WebhookDispatcher(FakeEs(""), "t-", "t-articles", SECRET, guard, timeout_s=5, verify=client_ctx)  # type: ignore[arg-type]
    try:
        # Connected to 127.0.0.1, yet SNI, the Host header and the certificate check use the name.
        assert dispatcher.post(f"https://hooks.example:{port}/hook", b"{}", "d1") == 204
        assert tls_receiver.sni == ["hooks.example"]
        assert tls_receiver.requests[0].headers["Host"] == f"hooks.example:{port}"
        # Another name on the same address and port gets its own handshake, and the certificate
        # (valid for hooks.example only) is refused: no connection is reused across names.
        with pytest.raises(Exception, match=r"CERTIFICATE_VERIFY_FAILED|hostname"):
            dispatcher.post(f"https://other.example:{port}/hook", b"{}", "d2")
        assert len(tls_receiver.requests) == 1
        assert tls_receiver.sni == ["hooks.example", "other.example"]
    finally:
        dispatcher.client.close()


# --- the URL check on create and update -----------------------------------------------------------


DNS = {"hooks.example": ["93.184.215.14"], "intranet.example": ["10.0.0.7"], "mixed.example": [PUBLIC, "127.0.0.1"]}


def _guard(allow: tuple[str, ...] = ()) -> SsrfGuard:
    def resolve(host: str, port: int) -> list[str]:
        if host not in DNS:
            raise OSError(-2, "Name or service not known")
        return DNS[host]

    return SsrfGuard(allow_hosts=allow, resolver=resolve)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "private_address"),
        ("http://tidak-ada.example/hook", "dns"),
        ("http://10.1.2.3/hook", "private_address"),
        ("http://192.168.1.1/hook", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "private_address"),
        ("http://[::1]:9000/hook", "private_address"),
        ("http://[::ffff:127.0.0.1]/hook", "private_address"),
        ("http://intranet.example/hook", "private_address"),
        ("http://mixed.example/hook", "private_address"),
        ("ftp://hooks.example/hook", "scheme"),
        ("https://user:secret@hooks.example/hook", "credentials"),
        ("https://token@hooks.example/hook", "credentials"),
        ("http://hooks.example:99999/hook", "port"),
        ("http://hooks.example:abc/hook", "port"),
        ("http://hooks.example:0/hook", "port"),
        ("http:///hook", "no_host"),
        ("http://[::1/hook", "malformed"),
        ("http://[abc]/hook", "malformed"),
        ("http://" + "a" * 64 + ".example/hook", "dns"),  # a label IDNA cannot encode
        ("http://\ud800.example/hook", "dns"),
    ],
)
def test_refused_webhook_urls_name_the_reason(url: str, reason: str) -> None:
    with pytest.raises(WebhookRefused) as exc:
        check_webhook_url(url, _guard())
    assert exc.value.reason == reason
    assert exc.value.message


@pytest.mark.parametrize("url", ["http://localhost:8080/", "http://2130706433/", "http://0x7f.1/", "http://127.1/"])
def test_other_spellings_of_loopback_are_refused(url: str) -> None:
    # The system resolver reads these without the network; what it answers is what is checked.
    with pytest.raises(WebhookRefused) as exc:
        check_webhook_url(url, SsrfGuard())
    assert exc.value.reason == "private_address"


def test_refusal_message_names_the_address_and_the_allow_list() -> None:
    with pytest.raises(WebhookRefused) as exc:
        check_webhook_url("http://169.254.169.254/latest/meta-data/", _guard())
    assert "169.254.169.254" in exc.value.message and "WARTA_WEBHOOK_ALLOW_HOSTS" in exc.value.message


def test_accepted_webhook_urls() -> None:
    target = check_webhook_url("https://hooks.example/warta?token=abc", _guard())
    assert (target.address, target.port) == (PUBLIC, 443)
    # The allow-list is per host and port, exactly as written in the URL.
    allowed = _guard(("127.0.0.1:9000",))
    assert check_webhook_url("http://127.0.0.1:9000/hook", allowed).address == "127.0.0.1"
    with pytest.raises(WebhookRefused):
        check_webhook_url("http://127.0.0.1:9001/hook", allowed)


def test_the_last_attempt_marks_the_delivery_failed_and_the_monitor_failing(receiver: Receiver) -> None:
    receiver.status = 500
    guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{receiver.port}"])
    es = deliver(f"http://127.0.0.1:{receiver.port}/hook", guard, attempts=MAX_ATTEMPTS - 1)
    update = es.delivery_updates()[-1]
    assert update["status"] == "failed" and update["attempts"] == MAX_ATTEMPTS
    assert update["log"][-1]["error"] == "HTTP 500"
    [state] = es.state_updates()
    assert (state["delivery_status"], state["consecutive_failures"], state["last_delivery_error"]) == (
        "failing", 1, "HTTP 500"
    )  # fmt: skip


def test_failures_count_up_and_a_concurrent_write_is_retried(receiver: Receiver) -> None:
    from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
    from elasticsearch import ConflictError

    from services.search.alerts import SavedSearchStore

    class RacingEs(FakeEs):
        """The first conditional write loses a race (someone else wrote the saved search)."""

        raced = False

        def update(self, index: str, id: str, **kwargs: Any) -> dict[str, Any]:
            if index.endswith("saved-searches") and not self.raced:
                self.raced = True
                self.saved["consecutive_failures"] = 3  # what the other writer stored
                meta = ApiResponseMeta(409, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
                raise ConflictError("version_conflict_engine_exception", meta, {})
            return super().update(index, id, **kwargs)

    es = RacingEs(f"http://127.0.0.1:{receiver.port}/hook")
    es.saved["consecutive_failures"] = 2
    SavedSearchStore(es, "t-").record_attempt("s1", False, "HTTP 502", "2025-05-01T00:00:00+00:00")  # type: ignore[arg-type]
    [state] = es.state_updates()
    assert (state["consecutive_failures"], state["last_delivery_error"]) == (4, "HTTP 502")
