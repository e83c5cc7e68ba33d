"""Run inside a network namespace: probe once with OnvifDiscovery, print the cameras.

Usage: ``python onvif_probe.py ADDRESS`` (the namespace's own veth address).
"""

from __future__ import annotations

import asyncio
import json
import sys

from controller.cameras.mdns import RTSP
from controller.cameras.onvif import OnvifDiscovery
from controller.cameras.registry import CameraRegistry, Sighting


async def main(address: str) -> None:
    registry = CameraRegistry({})
    # The same camera also announced over mDNS with its MAC: it must stay one camera.
    registry.seen(
        Sighting(
            f"mdns:{RTSP}",
            "mac:02aa00000007",
            "Junction 7 mdns",
            "rtsp://10.77.0.2:554/stream",
            address="10.77.0.2",
            service_type=RTSP,
        )
    )
    discovery = OnvifDiscovery(registry, [address], probe_wait_s=2.0)
    await discovery.start()
    try:
        for _ in range(3):
            if len(await discovery.probe()) >= 2:
                break
    finally:
        await discovery.stop()
    print(json.dumps([camera.as_json() for camera in registry.all()]))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
