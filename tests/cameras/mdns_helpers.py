"""Announce simulated cameras over real multicast DNS on 127.0.0.1 only."""

from __future__ import annotations

import socket
import struct

from zeroconf import ServiceInfo

LOOPBACK = "127.0.0.1"
MDNS_GROUP = ("224.0.0.251", 5353)


def camera_info(
    service_type: str,
    instance: str,
    address: str,
    port: int,
    properties: dict[str, str | bytes],
    host: str = "cam-1.local.",
    ttl_s: int | None = None,
) -> ServiceInfo:
    """A service record shaped like a camera's announcement."""
    extra = {} if ttl_s is None else {"host_ttl": ttl_s, "other_ttl": ttl_s}
    return ServiceInfo(
        service_type,
        f"{instance}.{service_type}",
        addresses=[socket.inet_aton(address)],
        port=port,
        properties=properties,
        server=host,
        **extra,
    )


def _name(labels: list[bytes]) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def _record(name: bytes, rtype: int, rclass: int, rdata: bytes) -> bytes:
    return name + struct.pack("!HHIH", rtype, rclass, 120, len(rdata)) + rdata


def raw_announcement(
    instance_label: bytes, address: str, port: int, txt: list[bytes]
) -> bytes:
    """An mDNS response for an _rtsp._tcp camera whose instance label is raw bytes
    (so it can be invalid UTF-8, which python-zeroconf's ServiceInfo cannot send)."""
    service = [b"_rtsp", b"_tcp", b"local"]
    instance = _name([instance_label, *service])
    host = _name([b"raw-cam", b"local"])
    records = [
        _record(_name(service), 12, 1, instance),
        _record(instance, 33, 0x8001, struct.pack("!HHH", 0, 0, port) + host),
        _record(instance, 16, 0x8001, b"".join(bytes([len(t)]) + t for t in txt)),
        _record(host, 1, 0x8001, socket.inet_aton(address)),
    ]
    header = struct.pack("!HHHHHH", 0, 0x8400, 0, len(records), 0, 0)
    return header + b"".join(records)


def send_on_loopback(packet: bytes) -> None:
    """Multicast ``packet`` to the mDNS group through 127.0.0.1 only."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(
            socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOOPBACK)
        )
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        sock.bind((LOOPBACK, 0))
        sock.sendto(packet, MDNS_GROUP)
    finally:
        sock.close()
