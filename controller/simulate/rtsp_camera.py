"""One simulated camera: a live H.264 (or H.265) RTSP stream from GStreamer's server.

Run as its own process (``python -m controller.simulate.rtsp_camera``) so a test can
kill, stop or restart one camera alone. The picture is a solid colour with the camera's
name and a running clock burned in. Prints ``READY <port>`` once it accepts clients.

Odd cameras for the reliability tests: H.265, any size and pixel aspect ratio, G.711
audio or audio only, a resolution change after a while, a server that answers
DESCRIBE and then refuses PLAY, keyframes only on the encoder's schedule (a client
that joins waits for the next one), and a colour change on SIGUSR1 (to time live lag).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# --keyframes-on-schedule: how long to wait for the encoder's first frame.
ENCODER_START_S = 5.0


def pipeline(args: argparse.Namespace) -> str:
    """The gst-launch description of the camera's media."""
    audio = {
        "none": "",
        "pcmu": "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1 "
        "! mulawenc ! rtppcmupay name=pay{n} pt=0 ",
        "pcma": "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1 "
        "! alawenc ! rtppcmapay name=pay{n} pt=8 ",
    }[args.audio]
    if args.audio_only:
        return "( " + (audio or _PCMU).format(n=0) + ")"
    if args.codec == "h265":
        encode = (
            f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={args.gop} "
            "bitrate=600 "
            "! h265parse config-interval=-1 "
            "! rtph265pay name=pay0 pt=96 config-interval=-1 "
        )
    else:
        encode = (
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.gop} "
            "bitrate=600 bframes=0 sliced-threads=false threads=1 "
            "! h264parse config-interval=-1 "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 "
        )
    if args.keyframes_on_schedule:
        encode = "rtph264pay name=pay0 pt=96 config-interval=-1 "
        return f"( {_FEED}! {encode}" + (audio.format(n=1) if audio else "") + ")"
    return f"( {_picture(args)} ! {encode}" + (audio.format(n=1) if audio else "") + ")"


def encoder_pipeline(args: argparse.Namespace) -> str:
    """The gst-launch description of an encoder that runs apart from the RTSP
    media (--keyframes-on-schedule): its H.264 goes to every client's media."""
    return (
        f"{_picture(args)} "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.gop} "
        "bitrate=600 bframes=0 sliced-threads=false threads=1 "
        "! video/x-h264,stream-format=avc,alignment=au "
        "! appsink name=out emit-signals=true sync=false"
    )


def _picture(args: argparse.Namespace) -> str:
    label = args.label.replace('"', "'")
    font = min(args.height, args.width)
    return (
        "videotestsrc name=src is-live=true pattern=solid-color "
        f"foreground-color=0xff{args.color} "
        f"! capsfilter name=size caps=video/x-raw,width={args.width},"
        f"height={args.height},framerate={args.fps}/1,pixel-aspect-ratio={args.par} "
        f'! textoverlay text="{label}" font-desc="Sans Bold {font // 15}" '
        "valignment=center halignment=center shaded-background=true "
        f'! clockoverlay time-format="%H:%M:%S" font-desc="Sans {font // 16}" '
        "valignment=bottom halignment=right shaded-background=true"
    )


_FEED = (
    "appsrc name=feed is-live=true format=time do-timestamp=true "
    "caps=video/x-h264,stream-format=avc,alignment=au "
    "! h264parse config-interval=-1 "
)


_PCMU = (
    "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1 "
    "! mulawenc ! rtppcmupay name=pay{n} pt=0 "
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
    parser.add_argument("--codec", choices=("h264", "h265"), default="h264")
    parser.add_argument("--par", default="1/1", help="pixel aspect ratio, e.g. 64/45")
    parser.add_argument("--audio", choices=("none", "pcmu", "pcma"), default="none")
    parser.add_argument("--audio-only", action="store_true", help="no video track")
    parser.add_argument(
        "--keyframes-on-schedule",
        action="store_true",
        help="H.264 only: one encoder apart from the RTSP media, so a client that "
        "joins waits for the next keyframe (every --gop frames)",
    )
    parser.add_argument(
        "--drop-on-play", action="store_true", help="answer DESCRIBE, refuse PLAY"
    )
    parser.add_argument(
        "--resize-after", type=float, default=0.0, help="seconds, then --resize-to"
    )
    parser.add_argument("--resize-to", default="320x180", help="WIDTHxHEIGHT")
    parser.add_argument(
        "--usr1-color",
        default="ffffff",
        help="RRGGBB painted after SIGUSR1 (the next one paints --color again)",
    )
    args = parser.parse_args()

    Gst.init(None)
    media_bins: list[Gst.Element] = []

    # The RTSP server seeks a shared media for each PLAY: the flush restarts an
    # encoder inside it, and every client gets a keyframe at once. Real cameras
    # mostly key on their own schedule: then the encoder runs apart and feeds them.
    feeds: list[Gst.Element] = []
    encoded_caps: list[Gst.Caps] = []
    if args.keyframes_on_schedule:
        if args.codec != "h264" or args.audio_only:
            parser.error("--keyframes-on-schedule needs an H.264 video stream")
        encoder = Gst.parse_launch(encoder_pipeline(args))
        media_bins.append(encoder)

        def pass_on(sink: Gst.Element) -> Gst.FlowReturn:
            sample = sink.emit("pull-sample")
            # The caps carry SPS and PPS: a new media describes the stream at once.
            encoded_caps[:] = [sample.get_caps()]
            buffer = sample.get_buffer().copy()
            buffer.pts = buffer.dts = Gst.CLOCK_TIME_NONE
            # On the encoder's thread, while the main loop adds and removes feeds.
            for feed in tuple(feeds):
                feed.emit("push-buffer", buffer)
            return Gst.FlowReturn.OK

        encoder.get_by_name("out").connect("new-sample", pass_on)
        encoder.set_state(Gst.State.PLAYING)
        started = time.monotonic()
        while not encoded_caps and time.monotonic() - started < ENCODER_START_S:
            time.sleep(0.01)

    def media_configured(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        media_bins.append(media.get_element())
        feed = media.get_element().get_by_name("feed")
        if feed is not None:
            if encoded_caps:
                feed.set_property("caps", encoded_caps[0])
            feeds.append(feed)
            media.connect("unprepared", lambda _media: feeds.remove(feed))
        if args.resize_after > 0:
            GLib.timeout_add(int(args.resize_after * 1000), resize, media.get_element())

    def resize(element: Gst.Element) -> bool:
        size = element.get_by_name("size")
        if size is not None:
            width, height = args.resize_to.split("x")
            size.set_property(
                "caps",
                Gst.Caps.from_string(
                    f"video/x-raw,width={width},height={height},"
                    f"framerate={args.fps}/1,pixel-aspect-ratio={args.par}"
                ),
            )
        return False

    # Each SIGUSR1 swaps the colour (to --usr1-color, back to --color, ...), so a
    # test can time the lag as often as it likes.
    colours = [args.usr1_color, args.color]

    def repaint() -> bool:
        colour = colours[0]
        colours.reverse()
        for element in media_bins:
            source = element.get_by_name("src")
            if source is not None:
                source.set_property("foreground-color", int("ff" + colour, 16))
        return True

    def client_connected(_server: object, client: GstRtspServer.RTSPClient) -> None:
        if args.drop_on_play:
            client.connect("pre-play-request", refuse_play)

    def refuse_play(
        _client: GstRtspServer.RTSPClient, _context: object
    ) -> GstRtsp.RTSPStatusCode:
        return GstRtsp.RTSPStatusCode.SERVICE_UNAVAILABLE

    server = GstRtspServer.RTSPServer()
    server.connect("client-connected", client_connected)
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    def add(path: str, width: int, height: int) -> None:
        factory = GstRtspServer.RTSPMediaFactory()
        variant = argparse.Namespace(**{**vars(args), "width": width, "height": height})
        factory.set_launch(pipeline(variant))
        factory.set_shared(True)
        factory.connect("media-configure", media_configured)
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
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, repaint)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
