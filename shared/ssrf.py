"""SSRF guard: which URLs Warta may connect to (crawled pages, feeds, redirects, alert webhooks).

Every URL is checked *after DNS resolution*; callers then connect to the checked address, so a
DNS answer cannot change between the check and the connect. Redirect targets are checked again.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud metadata endpoints that are not covered by "link-local" (AWS/GCP/Azure use 169.254.169.254,
# which is link-local; Alibaba and some OpenStack setups use these).
_METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}


class BlockedUrl(Exception):
    """The URL may not be fetched. ``reason`` is one of: scheme, no_host, dns, private_address."""

    def __init__(self, url: str, reason: str, detail: str = "") -> None:
        super().__init__(f"refused {url}: {reason}{(' (' + detail + ')') if detail else ''}")
        self.url = url
        self.reason = reason


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


class SsrfGuard:
    """Checks URLs against the address policy. Thread-safe; ``check`` may block on DNS."""

    def __init__(self, allow_hosts: Iterable[str] = (), resolver: Resolver = default_resolver) -> None:
        self._allow = {h.strip().lower() for h in allow_hosts if h.strip()}
        self._resolve = resolver

    def allowed_explicitly(self, host: str, port: int) -> bool:
        return f"{host}:{port}" in self._allow

    def check(self, url: str) -> Target:
        """Return the pinned :class:`Target` for ``url`` or raise :class:`BlockedUrl`."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in {"http", "https"}:
            raise BlockedUrl(url, "scheme", scheme or "none")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise BlockedUrl(url, "no_host")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise BlockedUrl(url, "no_host", "bad port") from exc
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self._resolve(host, port)
            except OSError as exc:
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
