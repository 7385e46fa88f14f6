"""SSRF guard: which URLs Warta may connect to (crawled pages, feeds, redirects, alert webhooks).

Every URL is checked *after DNS resolution*; callers then connect to the checked address, so a
DNS answer cannot change between the check and the connect. Redirect targets are checked again.

To connect to the checked address with httpx, send the request to :meth:`Target.pinned_url` with
the ``Host`` header from :meth:`Target.host_header` and the extensions from
:meth:`Target.extensions`: for https, ``sni_hostname`` makes TLS send the real name as SNI *and*
verify the certificate against it. httpx pools connections by the URL's host, here the address, so
a client that talks to several names must not keep connections alive across them (a connection
verified for one name would carry a request for another name on the same address).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud metadata endpoints that are not covered by "link-local" (AWS/GCP/Azure use 169.254.169.254,
# which is link-local; Alibaba and some OpenStack setups use these).
_METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}


class BlockedUrl(Exception):
    """The URL may not be fetched. ``reason`` is one of: malformed, scheme, no_host, port, dns,
    private_address; ``detail`` says more (the refused address, the resolver's error)."""

    def __init__(self, url: str, reason: str, detail: str = "") -> None:
        super().__init__(f"refused {url}: {reason}{(' (' + detail + ')') if detail else ''}")
        self.url = url
        self.reason = reason
        self.detail = detail


def default_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver (may block; raises ``OSError``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: IPAddress) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified, shared (CGNAT)
    and metadata addresses, including IPv4 addresses mapped into IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public_address(mapped)
    if address in _METADATA:
        return False
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
        or not address.is_global
    )


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (pinned), sending ``host`` as Host/SNI."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    def pinned_url(self) -> str:
        """``url`` with the checked address in place of the host (no userinfo, no fragment)."""
        parts = urlsplit(self.url)
        address = f"[{self.address}]" if ":" in self.address else self.address
        return urlunsplit((self.scheme, f"{address}:{self.port}", parts.path or "/", parts.query, ""))

    def ascii_host(self) -> str:
        """The host name as sent on the wire (IDNA, as the system resolver encoded it)."""
        try:
            return self.host.encode("idna").decode("ascii")
        except UnicodeError:  # not encodable: the request fails in httpx with a clear error
            return self.host

    def host_header(self) -> str:
        """The ``Host`` header for ``url``: the name, with the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.ascii_host()
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"

    def extensions(self) -> dict[str, str]:
        """httpx request extensions: for https, SNI and certificate verification use the name."""
        return {"sni_hostname": self.ascii_host()} if self.scheme == "https" else {}


class SsrfGuard:
    """Checks URLs against the address policy. Thread-safe; ``check`` may block on DNS."""

    def __init__(self, allow_hosts: Iterable[str] = (), resolver: Resolver = default_resolver) -> None:
        self._allow = {h.strip().lower() for h in allow_hosts if h.strip()}
        self._resolve = resolver

    def allowed_explicitly(self, host: str, port: int) -> bool:
        return f"{host}:{port}" in self._allow

    def check(self, url: str) -> Target:
        """Return the pinned :class:`Target` for ``url`` or raise :class:`BlockedUrl`."""
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError as exc:  # e.g. an unclosed or invalid [IPv6] literal
            raise BlockedUrl(url, "malformed", str(exc)) from exc
        scheme = parts.scheme.lower()
        if scheme not in {"http", "https"}:
            raise BlockedUrl(url, "scheme", scheme or "none")
        host = (hostname or "").lower().rstrip(".")
        if not host:
            raise BlockedUrl(url, "no_host")
        try:
            explicit_port = parts.port
        except ValueError as exc:  # not a number, or above 65535
            raise BlockedUrl(url, "port", "not a port number between 1 and 65535") from exc
        if explicit_port == 0:
            raise BlockedUrl(url, "port", "port 0")
        port = explicit_port or (443 if scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self._resolve(host, port)
            except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode
                raise BlockedUrl(url, "dns", str(exc)) from exc
            if not addresses:
                raise BlockedUrl(url, "dns", "no address")
        if self.allowed_explicitly(host, port):
            return Target(url, scheme, host, port, addresses[0])
        for address in addresses:
            # Every answer must be public: a mixed answer is how DNS rebinding gets in.
            if not is_public_address(ipaddress.ip_address(address.split("%", 1)[0])):
                raise BlockedUrl(url, "private_address", address)
        return Target(url, scheme, host, port, addresses[0])
