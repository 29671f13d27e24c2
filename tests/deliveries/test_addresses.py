"""The SSRF guard's pieces: which addresses are refused, and a checked target keeps its
host name for the Host header and TLS while the connection goes to the checked address."""

import asyncio
import socket
from ipaddress import ip_address, ip_network
from typing import Any

import httpx
import pytest

from app.deliveries.addresses import Target, UnsafeTarget, refusal, resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:10.0.0.1",  # noqa: S104
    ],
)  # fmt: skip
def test_internal_addresses_are_refused(address: str) -> None:
    assert refusal(ip_address(address), []) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ip_address(address), []) is None


def test_an_allowed_network_opens_only_itself_and_never_the_metadata_service() -> None:
    allowed = [ip_network("127.0.0.1/32"), ip_network("169.254.0.0/16")]
    assert refusal(ip_address("127.0.0.1"), allowed) is None
    assert refusal(ip_address("127.0.0.2"), allowed) is not None
    assert refusal(ip_address("169.254.169.254"), allowed) is not None


def test_a_target_connects_to_its_address_under_its_host_name() -> None:
    target = Target(
        httpx.URL("https://hooks.example.com:8443/crm?x=1"), ip_address("93.184.216.34")
    )
    assert str(target.request_url) == "https://93.184.216.34:8443/crm?x=1"
    assert target.host_header == "hooks.example.com:8443"
    assert target.extensions == {"sni_hostname": "hooks.example.com"}
    six = Target(httpx.URL("http://hooks.example.com/x"), ip_address("2606:4700::1"))
    assert str(six.request_url) == "http://[2606:4700::1]/x"
    assert six.extensions == {}


async def test_a_name_with_any_internal_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def answers(host: Any, port: Any, **_: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", answers)
    with pytest.raises(UnsafeTarget):
        await resolve("https://mixed.example.com/hook", [])
