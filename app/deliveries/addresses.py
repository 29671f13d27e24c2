"""Where a webhook may be sent (SSRF guard): public addresses only, resolved once.

A tenant's endpoint URL must not make the service reach into its own network: loopback,
private, link-local, shared and reserved addresses are refused, and so are the cloud
metadata services (169.254.169.254, fd00:ec2::254) whatever the settings allow. The
name is resolved here, every address it resolves to is checked, and the request then
goes to the checked address (`Target.address`) with the name kept in the Host header
and in TLS's server name (httpcore's `sni_hostname` extension), so a second DNS answer
(rebinding) can never change where the request goes.
"""

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import httpx

from app.core.i18n import Text

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

METADATA_ADDRESSES: frozenset[Address] = frozenset(
    {ip_address("169.254.169.254"), ip_address("fd00:ec2::254")}
)


class UnsafeTarget(Exception):
    """The URL may not be called: why, in both languages."""

    def __init__(self, reason: Text) -> None:
        self.reason = reason
        super().__init__(reason.en)


class UnresolvableHost(Exception):
    """The URL's host name has no address (now)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: the request goes to `address`, named `url.host`."""

    url: httpx.URL
    address: Address

    @property
    def request_url(self) -> httpx.URL:
        """The URL with the checked address in place of the name."""
        return self.url.copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def extensions(self) -> dict[str, str]:
        """TLS's server name and certificate check stay those of the URL's host."""
        return {"sni_hostname": self.url.host} if self.url.scheme == "https" else {}


def refusal(address: Address, allowed: Sequence[Network]) -> Text | None:
    """Why `address` may not be reached, or None when it may."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return Text(f"不允许访问云元数据地址 {address}", f"Cloud metadata address {address}")
    if any(address in network for network in allowed):
        return None
    if address.is_global and not address.is_multicast:
        return None
    return Text(
        f"地址 {address} 不是公网地址(回环、内网、链路本地或保留地址)",
        f"Address {address} is not public (loopback, private, link-local or reserved)",
    )


def parse_url(url: str) -> httpx.URL:
    """An http(s) URL with a host; UnsafeTarget otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnsafeTarget(Text("URL 无效", f"Invalid URL: {exc}")) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UnsafeTarget(Text("URL 须为 http 或 https 且含主机名", "An http(s) URL with a host"))
    if parsed.userinfo:
        raise UnsafeTarget(Text("URL 不能包含用户名或密码", "The URL must not carry credentials"))
    return parsed


async def resolve(url: str, allowed: Sequence[Network]) -> Target:
    """Resolve the URL's host once and check every address it has; the first one is the
    target. UnsafeTarget when any is refused, UnresolvableHost when there is none."""
    parsed = parse_url(url)
    addresses = await _addresses(parsed)
    for address in addresses:
        reason = refusal(address, allowed)
        if reason is not None:
            raise UnsafeTarget(reason)
    return Target(parsed, addresses[0])


async def _addresses(url: httpx.URL) -> list[Address]:
    try:
        return [ip_address(url.host)]
    except ValueError:
        pass
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            url.host, port, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(str(exc)) from exc
    found: list[Address] = []
    for info in infos:
        address = ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnresolvableHost(url.host)
    return found
