"""One simulated camera: a live H.264 RTSP stream from GStreamer's RTSP server.

Run as its own process (``python -m controller.simulate.rtsp_camera``) so a test can
kill, stop or restart one camera alone. The picture is a solid colour with the camera's
name and a running clock burned in. Prints ``READY <port>`` once it accepts clients.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def pipeline(args: argparse.Namespace) -> str:
    """The gst-launch description of the camera's media."""
    label = args.label.replace('"', "'")
    return (
        f"( videotestsrc is-live=true pattern=solid-color foreground-color=0xff{args.color} "
        f"! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 "
        f'! textoverlay text="{label}" font-desc="Sans Bold {args.height // 15}" '
        "valignment=center halignment=center shaded-background=true "
        f'! clockoverlay time-format="%H:%M:%S" font-desc="Sans {args.height // 16}" '
        "valignment=bottom halignment=right shaded-background=true "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.gop} "
        "bitrate=600 bframes=0 sliced-threads=false threads=1 "
        "! h264parse config-interval=-1 "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--path", default="/stream")
    parser.add_argument("--label", default="CAMERA")
    parser.add_argument("--color", default="3060c0", help="RRGGBB")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop", type=int, default=25, help="keyframe interval, frames")
    parser.add_argument(
        "--sub-path", default=None, help="also serve a 320-wide sub-stream"
    )
    parser.add_argument("--user", default=None, help="require basic auth")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    def add(path: str, width: int, height: int) -> None:
        factory = GstRtspServer.RTSPMediaFactory()
        variant = argparse.Namespace(**{**vars(args), "width": width, "height": height})
        factory.set_launch(pipeline(variant))
        factory.set_shared(True)
        if args.user is not None:
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    "user, media.factory.access=(boolean)true, "
                    "media.factory.construct=(boolean)true"
                )[0]
            )
        mounts.add_factory(path, factory)

    add(args.path, args.width, args.height)
    if args.sub_path:
        add(args.sub_path, args.width // 2, args.height // 2)
    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password)
        auth.add_basic(basic, token)
        server.set_auth(auth)

    if server.attach(None) == 0:
        print("ERROR cannot listen", flush=True)
        return 1
    print(f"READY {server.get_bound_port()}", flush=True)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
