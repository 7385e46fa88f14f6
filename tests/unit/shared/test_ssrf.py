from __future__ import annotations

import ipaddress

import pytest

from shared.ssrf import BlockedUrl, SsrfGuard, is_public_address


def resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("name does not resolve")
        return answers[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.10.5",
        "169.254.169.254",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "224.0.0.1",
        "fd00:ec2::254",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "103.10.20.30", "2001:4860:4860::8888"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_hostname_resolving_to_private_address_is_refused() -> None:
    guard = SsrfGuard(resolver=resolver({"intranet.example": ["10.0.0.7"], "berita.example": ["103.10.20.30"]}))
    with pytest.raises(BlockedUrl) as exc:
        guard.check("http://intranet.example/admin")
    assert exc.value.reason == "private_address"
    target = guard.check("https://berita.example/x")
    assert (target.address, target.port, target.host) == ("103.10.20.30", 443, "berita.example")


def test_any_private_answer_refuses_the_host() -> None:
    # A mixed answer is how DNS rebinding gets in.
    guard = SsrfGuard(resolver=resolver({"mixed.example": ["103.10.20.30", "127.0.0.1"]}))
    with pytest.raises(BlockedUrl):
        guard.check("http://mixed.example/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x.example/", "ftp://x.example/", "http:///nohost"])
def test_non_http_schemes_and_hostless_urls(url: str) -> None:
    with pytest.raises(BlockedUrl):
        SsrfGuard(resolver=resolver({})).check(url)


def test_allowlist_is_per_host_and_port() -> None:
    guard = SsrfGuard(allow_hosts=["127.0.0.1:8101"], resolver=resolver({}))
    assert guard.check("http://127.0.0.1:8101/feed/").address == "127.0.0.1"
    with pytest.raises(BlockedUrl):
        guard.check("http://127.0.0.1:6379/")  # Redis next door stays off limits


def test_unresolvable_host() -> None:
    with pytest.raises(BlockedUrl) as exc:
        SsrfGuard(resolver=resolver({})).check("http://tidak-ada.example/")
    assert exc.value.reason == "dns"


@pytest.mark.parametrize(
    "url", ["http://berita.example:99999/", "http://berita.example:abc/", "http://berita.example:0/"]
)
def test_bad_ports_are_refused(url: str) -> None:
    # Port 0 used to be read as "no port" and replaced by the default.
    with pytest.raises(BlockedUrl) as exc:
        SsrfGuard(resolver=resolver({"berita.example": ["103.10.20.30"]})).check(url)
    assert exc.value.reason == "port"


def test_refused_address_is_in_the_detail() -> None:
    with pytest.raises(BlockedUrl) as exc:
        SsrfGuard(resolver=resolver({})).check("http://169.254.169.254/latest/meta-data/")
    assert (exc.value.reason, exc.value.detail) == ("private_address", "169.254.169.254")


def test_pinned_request_parts() -> None:
    guard = SsrfGuard(resolver=resolver({"berita.example": ["103.10.20.30"], "bücher.example": ["103.10.20.31"]}))
    https = guard.check("https://user@Berita.Example./hook?x=1#frag")
    assert https.pinned_url() == "https://103.10.20.30:443/hook?x=1"
    assert https.host_header() == "berita.example"
    assert https.extensions() == {"sni_hostname": "berita.example"}
    http = guard.check("http://berita.example:8080")
    assert (http.pinned_url(), http.host_header(), http.extensions()) == (
        "http://103.10.20.30:8080/", "berita.example:8080", {}
    )  # fmt: skip
    idn = guard.check("https://bücher.example/")
    assert (idn.host_header(), idn.extensions()) == ("xn--bcher-kva.example", {"sni_hostname": "xn--bcher-kva.example"})
    literal = SsrfGuard(allow_hosts=["::1:8443"], resolver=resolver({})).check("https://[::1]:8443/x")
    assert (literal.pinned_url(), literal.host_header()) == ("https://[::1]:8443/x", "[::1]:8443")


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://[::1/", "malformed"), ("http://[abc]/", "malformed"), ("http://" + "a" * 64 + ".example/", "dns")],
)
def test_malformed_urls_are_refused_not_raised(url: str, reason: str) -> None:
    # ValueError and UnicodeError used to escape from check().
    with pytest.raises(BlockedUrl) as exc:
        SsrfGuard().check(url)
    assert exc.value.reason == reason
