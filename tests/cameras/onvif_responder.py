"""Run inside a network namespace: answer WS-Discovery probes like two ONVIF cameras."""

from __future__ import annotations

import signal
import sys
import time

from wsdiscovery import QName, Scope
from wsdiscovery.publishing import ThreadedWSPublishing

NVT = QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn")
LIFETIME_S = 60


def main(address: str) -> None:
    cameras = [
        (
            "urn:uuid:4a1c0000-0000-1000-8000-02aa00000007",
            [
                "onvif://www.onvif.org/type/video_encoder",
                "onvif://www.onvif.org/name/Junction%207%20Bridge",
                "onvif://www.onvif.org/hardware/DS-2CD2143G2-I",
                "onvif://www.onvif.org/location/city/Leeds",
                "onvif://www.onvif.org/MAC/02:aa:00:00:00:07",
            ],
        ),
        (
            "urn:uuid:4a1c0000-0000-1000-8000-02aa00000008",
            [
                "onvif://www.onvif.org/name/IPC",
                "onvif://www.onvif.org/hardware/IPC-HDW2431T",
                "onvif://www.onvif.org/serial/7G0ABCD123",
            ],
        ),
    ]
    publishers = []
    for index, (epr, scopes) in enumerate(cameras):
        publisher = ThreadedWSPublishing(uuid_=epr)
        publisher.start()
        publisher.publishService(
            types=[NVT],
            scopes=[Scope(s) for s in scopes],
            xAddrs=[f"http://{address}:{8000 + index}/onvif/device_service"],
        )
        publishers.append(publisher)
    print("READY", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        time.sleep(LIFETIME_S)
    finally:
        for publisher in publishers:
            publisher.stop()


if __name__ == "__main__":
    main(sys.argv[1])
