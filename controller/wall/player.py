"""TilePlayer: one libmpv player drawing one camera into one tile window."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import mpv

from controller.cameras.secrets import redact
from controller.errors import WallError
from controller.layouts import Fit
from controller.wall.xerrors import keep_nonfatal
from controller.wall.xserver import TileWindow

_LOGGER = logging.getLogger(__name__)

OVERLAY_ID = 7
OVERLAY_RES_Y = 720
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 15.0
# Backoff starts again from RETRY_FIRST_S only once a stream has played this long, so
# a camera that sends a frame and drops the session cannot make us reconnect in a loop.
RETRY_RESET_AFTER_S = 10.0
# A session that opened but shows no picture for this long is given up and retried;
# longer than the longest keyframe interval we support (12 s).
NO_PICTURE_TIMEOUT_S = 20.0
# fps is counted from frames shown over at least this long.
FPS_WINDOW_S = 2.0
# A camera locks the account after a few failed logins: ask again only now and then.
AUTH_RETRY_FIRST_S = 60.0
AUTH_RETRY_MAX_S = 300.0
# estimated-vf-fps needs a few frames before it means anything.
PROBE_SETTLE_S = 2.0
AUTH_FAILED_REASON = "authentication failed"

# Tile statuses, as reported by the API.
EMPTY = "empty"
CONNECTING = "connecting"
PLAYING = "playing"
NO_SIGNAL = "no-signal"
AUTH_FAILED = "auth-failed"
STALE = "stale"

NO_VIDEO_REASON = "no video in the stream"
STREAM_ENDED_REASON = "stream ended"
CANNOT_CONNECT_REASON = "cannot connect"
_GENERIC_FAILURES = (STREAM_ENDED_REASON, CANNOT_CONNECT_REASON)
UNSUPPORTED_REASON = "unsupported codec"
NO_PICTURE_REASON = "no picture from the camera"
# The session is open but no picture yet: usually the camera's next keyframe is
# seconds away (joining mid-GOP; some cameras key every 10 s or more).
WAITING_FOR_KEYFRAME_REASON = "stream open, waiting for a keyframe"

# What FFmpeg says (through mpv's log) when a stream cannot be opened → our reason.
_FAILURES = (
    ("401 Unauthorized", AUTH_FAILED_REASON),
    ("403 Forbidden", "access forbidden (403)"),
    ("404 Not Found", "stream not found (404)"),
    ("503 Service Unavailable", "camera refused to play (503)"),
    ("Connection refused", "connection refused"),
    ("Connection timed out", "no answer (timeout)"),
    ("No route to host", "no route to host"),
    ("Invalid data found", "not a video stream"),
    ("Failed to initialize a decoder", UNSUPPORTED_REASON),
    ("Could not find decoder", UNSUPPORTED_REASON),
    ("No video or audio streams selected", NO_VIDEO_REASON),
)

# The big word on a tile that shows no picture, by status and reason.
_TITLES = {
    NO_VIDEO_REASON: "NO VIDEO",
    UNSUPPORTED_REASON: "UNSUPPORTED CODEC",
}


# mpv hands FFmpeg's messages (the only ones that say "401 Unauthorized") to the most
# recently created mpv core, whichever player they concern. They are collected here
# for every player to look through; a message naming another host is not ours.
FFMPEG_MESSAGES_KEPT = 64
_ffmpeg_messages: deque[tuple[float, str]] = deque(maxlen=FFMPEG_MESSAGES_KEPT)
_HOST_PORT = re.compile(r"//([^/\s?]+)")


@dataclass(frozen=True)
class StreamProbe:
    """What mpv measured of a playing stream."""

    stream: str  # "main" or "sub"
    codec: str
    width: int | None
    height: int | None
    fps: float | None
    measured_at: float

    def as_json(self) -> dict[str, Any]:
        """The fields the camera API adds for this measurement."""
        return {
            "stream": self.stream,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 2) if self.fps else None,
        }


class PlayerDeadError(WallError):
    """The libmpv core of a player has shut down (crashed or quit)."""


class TilePlayer:
    """A libmpv player bound to its own X window; created once and reused.

    mpv calls observers, event callbacks and the log handler on its own event thread;
    those only record a timestamp or hand the event to the asyncio loop. Every other
    method runs on the loop, except ``ping`` and ``terminate`` (blocking: threads).

    Progress is never taken from mpv's state: the ``time-pos`` observer stamps each
    new frame, and ``check`` (called by the Wall every fraction of a second) turns a
    picture that stopped into STALE and counts frames into ``fps`` and ``lag_s``.
    A stream that fails is retried with jittered backoff (1 s doubling up to 15 s,
    restarting only after 10 s of play); one refused with 401 shows AUTH FAILED and
    is retried only every 60 s up to 300 s. While ``held`` (the Wall prepares a
    new session in another player) the player never retries by itself. The URL may
    carry credentials: it is never logged, and mpv's messages are redacted.
    """

    def __init__(
        self,
        window: TileWindow,
        loop: asyncio.AbstractEventLoop,
        on_status: Callable[[TilePlayer], None],
        hwdec: str = "no",
    ) -> None:
        self.window = window
        self.camera: str | None = None
        self.url: str | None = None
        self.status = EMPTY
        self.reason = ""
        self.last_frame_at: float | None = (
            None  # wall clock (epoch s) of the last frame
        )
        self.stream: str | None = None
        self.probe: StreamProbe | None = None
        self.loads = 0
        self.held = False
        self._last_error = ""
        self._loaded_at = 0.0
        self._playing_since: float | None = None
        self._logged_fault = ""
        self._probe_later: asyncio.TimerHandle | None = None
        self._loop = loop
        self._on_status = on_status
        self._fit: Fit | None = None
        self._label = ""
        self._retry: asyncio.TimerHandle | None = None
        self._retry_delay_s = RETRY_FIRST_S
        # Written by the time-pos observer on mpv's event thread, read on the loop.
        self._frames = 0
        self._progress_at = 0.0  # monotonic time of the newest frame
        self._last_pos: float | None = None
        self._min_offset_s: float | None = None
        self._offset_s = 0.0
        self._generation = 0
        # Read on the loop only.
        self._fps_mark: tuple[float, int] | None = None
        self._fps: float | None = None
        self._stale_seen_at = 0.0
        self._opening = False  # loaded, no picture yet
        try:
            self._mpv = mpv.MPV(
                wid=str(window.window_id),
                vo="x11",
                profile="low-latency",
                untimed=True,
                cache="no",
                rtsp_transport="tcp",
                audio="no",
                hwdec=hwdec,
                idle="yes",
                # "yes" leaves the window black from file-loaded to the first
                # frame (up to a keyframe interval): no CONNECTING… drawn.
                force_window="immediate",
                keep_open="no",
                osc=False,
                input_default_bindings=False,
                input_vo_keyboard=False,
                network_timeout=5,
                osd_level=0,
                osd_font_size=48,
                background="#000000",
                loglevel="error",
                log_handler=self._on_mpv_log,
            )
        except (mpv.ShutdownError, OSError, AttributeError) as err:
            raise WallError(f"cannot start an mpv player: {err}") from err
        self._mpv.register_event_callback(self._on_mpv_event)
        self._mpv.observe_property("time-pos", self._on_time_pos)

    @property
    def auth_failed(self) -> bool:
        """True while the camera refuses our credentials."""
        return self.status == AUTH_FAILED

    @property
    def lag_s(self) -> float | None:
        """How far behind live the picture is, from frame times against arrival.

        Zero for the least delayed frame since the stream was loaded; a backlog that
        is played out shows as a growing value. None while nothing plays.
        """
        if self.status not in (PLAYING, STALE) or self._min_offset_s is None:
            return None
        return round(max(0.0, self._offset_s - self._min_offset_s), 3)

    @property
    def fps(self) -> float | None:
        """Frames shown per second, counted over the last couple of seconds."""
        return self._fps if self.status == PLAYING else None

    @property
    def progress_at(self) -> float:
        """Monotonic time of the newest frame shown (0 before the first)."""
        return self._progress_at

    def load(self, camera: str, url: str, label: str, stream: str = "main") -> None:
        """Start playing ``url`` (the ``stream`` of ``camera``) in this window."""
        self._cancel_retry()
        if camera != self.camera:
            self.probe = None
            self._logged_fault = ""
        self.camera = camera
        self.url = url
        self.stream = stream
        self._label = label
        self.held = False
        self._retry_delay_s = RETRY_FIRST_S
        self._open(url)
        self._set_status(CONNECTING, "")

    def show_no_signal(self, camera: str, label: str, reason: str) -> None:
        """Stop any stream and show NO SIGNAL with the camera's name in the window."""
        self._cancel_retry()
        if self.url is not None:
            self._mpv.command("stop")
        self.camera = camera
        self.url = None
        self.stream = None
        self._label = label
        self.held = False
        self._opening = False
        self._set_status(NO_SIGNAL, reason)

    def release(self) -> None:
        """Stop playing and forget the camera: the player goes back to the idle pool."""
        self._cancel_retry()
        if self.url is not None:
            try:
                self._mpv.command("stop")
            except (mpv.ShutdownError, SystemError) as err:
                _LOGGER.debug("stop on a dead player ignored: %s", err)
        self.camera = None
        self.url = None
        self.stream = None
        self.probe = None
        self.held = False
        self._opening = False
        self._logged_fault = ""
        self._playing_since = None
        self._set_status(EMPTY, "")

    def hold(self) -> None:
        """Stop retrying by itself: another player is preparing the new session."""
        self.held = True
        self._cancel_retry()

    def set_fit(self, fit: Fit) -> None:
        """Fit (bars), fill (crop) or stretch the picture to the tile."""
        if fit == self._fit:
            return
        self._mpv["keepaspect"] = fit != "stretch"
        self._mpv["panscan"] = 1.0 if fit == "fill" else 0.0
        self._fit = fit

    @property
    def fit(self) -> Fit | None:
        """The fit mode last set (None before the first)."""
        return self._fit

    @property
    def label(self) -> str:
        """The camera's name as shown on the tile."""
        return self._label

    def property(self, name: str) -> Any:
        """Read an mpv property (None when unavailable)."""
        # MPV[name] reads the *option* of that name; attributes read properties.
        try:
            return getattr(self._mpv, name.replace("-", "_"))
        except (RuntimeError, AttributeError, mpv.ShutdownError):
            return None

    def ping(self) -> None:
        """Ask the libmpv core one question (blocking: run it in a thread, with a
        deadline). Raises PlayerDeadError when the core or its event thread is gone."""
        thread = self._mpv._event_thread
        if self._mpv.core_shutdown or thread is None or not thread.is_alive():
            raise PlayerDeadError("the mpv core has shut down")
        try:
            self._mpv._get_property("idle-active")
        except mpv.ShutdownError as err:
            raise PlayerDeadError(f"the mpv core has shut down: {err}") from err

    def check(self, now: float, stale_after_s: float) -> None:
        """Judge progress from the frame timestamps (on the loop, every tick).

        PLAYING without a new frame for ``stale_after_s`` becomes STALE (SIGNAL LOST
        over the last frame); a STALE player whose frames move again plays again; a
        session that opened but never showed a picture is given up and retried.
        """
        if self.url is None:
            return
        progress_at = self._progress_at
        if self.status == PLAYING:
            self._count_fps(now)
            if progress_at and now - progress_at > stale_after_s:
                self._stale_seen_at = progress_at
                last = self.last_frame_at or time.time() - (now - progress_at)
                stamp = time.strftime("%H:%M:%S", time.localtime(last))
                self._playing_since = None
                self._set_status(STALE, f"no picture since {stamp}")
        elif self.status == STALE:
            if progress_at > self._stale_seen_at:
                _LOGGER.info("camera %r: picture moves again", self.camera)
                self._fps_mark = None
                self._playing_since = now
                self._set_status(PLAYING, "")
        elif self._opening and now - self._loaded_at > NO_PICTURE_TIMEOUT_S:
            self._opening = False
            self._mpv.command("stop")
            self._set_status(NO_SIGNAL, NO_PICTURE_REASON)
            self._schedule_retry()
        if (
            self._playing_since is not None
            and now - self._playing_since > RETRY_RESET_AFTER_S
        ):
            self._retry_delay_s = RETRY_FIRST_S
        if self.status == PLAYING and progress_at:
            self.last_frame_at = time.time() - (now - progress_at)

    def detach(self) -> None:
        """Stop retrying and forget the stream; on the loop, before ``terminate``.

        A retry timer that fired after the core was gone would call into freed libmpv
        memory and crash the process.
        """
        self._cancel_retry()
        self.url = None

    def terminate(self) -> None:
        """Shut the player down (blocking: run in a thread at shutdown)."""
        self._mpv.unregister_event_callback(self._on_mpv_event)
        # Only forget the handler on the Python side: asking libmpv to unobserve goes
        # through the event handle, which python-mpv frees once the core has shut
        # down by itself (a crash, "quit"), and using it then hangs or segfaults.
        handlers = self._mpv._property_handlers.get("time-pos", [])
        if self._on_time_pos in handlers:
            handlers.remove(self._on_time_pos)
        self._mpv.terminate()
        # Ending its video output put back Xlib's default handler, which exits.
        keep_nonfatal()

    def _open(self, url: str) -> None:
        self.loads += 1
        self._last_error = ""
        self._loaded_at = time.monotonic()
        self._generation += 1
        self._progress_at = 0.0
        self._last_pos = None
        self._min_offset_s = None
        self._fps_mark = None
        self._fps = None
        self._playing_since = None
        self._opening = True
        self._mpv.loadfile(url)

    def _count_fps(self, now: float) -> None:
        frames = self._frames
        if self._fps_mark is None:
            self._fps_mark = (now, frames)
            return
        since, counted = self._fps_mark
        if now - since >= FPS_WINDOW_S:
            self._fps = (frames - counted) / (now - since)
            self._fps_mark = (now, frames)
            self._measure()

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._probe_later is not None:
            self._probe_later.cancel()
            self._probe_later = None

    def _set_status(self, status: str, reason: str) -> None:
        changed = (status, reason) != (self.status, self.reason)
        self.status = status
        self.reason = reason
        self._draw_overlay()
        if changed:
            self._on_status(self)

    def _draw_overlay(self) -> None:
        colour = {
            NO_SIGNAL: r"\c&H3030F0&",
            CONNECTING: r"\c&H30C0F0&",
            AUTH_FAILED: r"\c&HF030C0&",
            STALE: r"\c&H3030F0&",
        }.get(self.status)
        if colour is None:
            self._overlay("")
            return
        if self.status == STALE:
            # Over the last frame, in a corner, so the picture stays readable.
            stamp = self.reason.rpartition(" ")[2]
            text = (
                r"{\an7\fs56\bord4\3c&H000000&"
                + colour
                + r"}SIGNAL LOST "
                + _ass_escape(stamp)
            )
            self._overlay(text)
            return
        title = {
            NO_SIGNAL: _TITLES.get(self.reason, "NO SIGNAL"),
            CONNECTING: "CONNECTING…",
            AUTH_FAILED: "AUTH FAILED",
        }[self.status]
        # Which camera, then why: a black tile must say whose it is.
        lines = [line for line in (self._label, self.reason) if line]
        self._overlay(
            r"{\an5\fs96\bord3"
            + colour
            + "}"
            + title
            + "".join(
                r"\N{\fs56\c&HFFFFFF&}" + _ass_escape(line) for line in lines
            )
        )

    def _overlay(self, text: str) -> None:
        try:
            if text:
                self._mpv.command(
                    "osd-overlay",
                    id=OVERLAY_ID,
                    format="ass-events",
                    data=text,
                    res_x=0,
                    res_y=OVERLAY_RES_Y,
                    z=0,
                    hidden=False,
                )
            else:
                self._mpv.command("osd-overlay", id=OVERLAY_ID, format="none", data="")
        except (mpv.ShutdownError, SystemError) as err:
            _LOGGER.debug("overlay on %s not drawn: %s", self.camera, err)

    # Runs on mpv's event thread, once per frame shown: only record, never call mpv.
    def _on_time_pos(self, _name: str, value: float | None) -> None:
        if value is None:
            return
        now = time.monotonic()
        offset = now - value
        if (
            self._min_offset_s is None
            or self._last_pos is None
            or value < self._last_pos
            or offset < self._min_offset_s
        ):
            self._min_offset_s = offset
        self._last_pos = value
        self._offset_s = offset
        self._frames += 1
        self._progress_at = now

    # Runs on mpv's event thread: hand over to the loop and return.
    def _on_mpv_event(self, event: Any) -> None:
        kind = event.event_id.value
        generation = self._generation
        if kind == mpv.MpvEventID.PLAYBACK_RESTART:
            self._loop.call_soon_threadsafe(self._playback_started, time.monotonic())
        elif kind == mpv.MpvEventID.FILE_LOADED:
            self._loop.call_soon_threadsafe(self._stream_opened, generation)
        elif kind == mpv.MpvEventID.END_FILE:
            data = event.data
            reason = getattr(data, "reason", None)
            error = getattr(data, "error", 0)
            self._loop.call_soon_threadsafe(
                self._playback_ended, reason, error, generation
            )

    # Runs on mpv's event thread, before the end-file event of the same failure.
    def _on_mpv_log(self, level: str, component: str, message: str) -> None:
        self._loop.call_soon_threadsafe(self._mpv_logged, level, component, message)

    def _mpv_logged(self, level: str, component: str, message: str) -> None:
        text = redact(message.strip())
        if level not in ("fatal", "error"):
            return
        if component.startswith("ffmpeg"):
            _ffmpeg_messages.append((time.monotonic(), text))
            _LOGGER.debug("mpv %s %s: %s", level, component, text)
        else:
            self._last_error = text
            _LOGGER.debug(
                "camera %r: mpv %s %s: %s", self.camera, level, component, text
            )

    def _failure_reason(self) -> str | None:
        """Our words for why the stream loaded at ``self._loaded_at`` failed."""
        parts = urlsplit(self.url or "")
        ours = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
        for at, text in reversed(_ffmpeg_messages):
            if at < self._loaded_at:
                break
            hosts = [h.rpartition("@")[2] for h in _HOST_PORT.findall(text)]
            if hosts and not any(h.split("?")[0] == ours for h in hosts):
                continue
            if (reason := _failure(text)) is not None:
                return reason
        return _failure(self._last_error)

    def _stream_opened(self, generation: int) -> None:
        if (
            generation == self._generation
            and self._opening
            and self.status == CONNECTING
        ):
            self._set_status(CONNECTING, WAITING_FOR_KEYFRAME_REASON)

    def _playback_started(self, at: float) -> None:
        if self.url is None or not (self._opening or self.status in (PLAYING, STALE)):
            return
        self._opening = False
        self._progress_at = max(self._progress_at, at)
        self.last_frame_at = time.time() - (time.monotonic() - at)
        if self._playing_since is None:
            self._playing_since = at
        if self._logged_fault:
            _LOGGER.info("camera %r: stream back", self.camera)
            self._logged_fault = ""
        self._set_status(PLAYING, "")
        self._measure()
        if self._probe_later is not None:
            self._probe_later.cancel()
        self._probe_later = self._loop.call_later(PROBE_SETTLE_S, self._measure)

    def _measure(self) -> None:
        """Read codec, picture size and frame rate from mpv (on the loop)."""
        self._probe_later = None
        if self.url is None or self.stream is None or self.status != PLAYING:
            return
        codec = self.property("video-codec")
        params = self.property("video-params") or {}
        # estimated-vf-fps stays unavailable with untimed playback (mpv 0.35,
        # vo=x11): frames are counted from the time-pos observer instead.
        fps = self._fps or self.property("container-fps")
        probe = StreamProbe(
            stream=self.stream,
            codec=str(codec).split(" (", 1)[0] if codec else "",
            width=params.get("w"),
            height=params.get("h"),
            fps=float(fps) if fps else None,
            measured_at=time.time(),
        )
        old = self.probe
        if (
            old is None
            or (probe.stream, probe.codec, probe.width, probe.height)
            != (
                old.stream,
                old.codec,
                old.width,
                old.height,
            )
            or _fps_moved(old.fps, probe.fps)
        ):
            self.probe = probe
            self._on_status(self)

    def _schedule_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self.held:
            return
        delay = self._retry_delay_s * random.uniform(0.8, 1.2)
        if self.status == AUTH_FAILED:
            self._retry_delay_s = min(
                max(self._retry_delay_s, AUTH_RETRY_FIRST_S / 2) * 2, AUTH_RETRY_MAX_S
            )
            delay = max(delay, AUTH_RETRY_FIRST_S)
        else:
            self._retry_delay_s = min(self._retry_delay_s * 2, RETRY_MAX_S)
        shown = "AUTH FAILED" if self.status == AUTH_FAILED else "NO SIGNAL"
        # One line per fault, not one per retry: repeats go to debug.
        log = _LOGGER.debug if self.reason == self._logged_fault else _LOGGER.warning
        log(
            "camera %r: %s; tile shows %s, retrying in %.1f s",
            self.camera,
            self.reason,
            shown,
            delay,
        )
        self._logged_fault = self.reason
        url = self.url
        self._retry = self._loop.call_later(delay, self._retry_now, url)

    def _retry_now(self, url: str | None) -> None:
        self._retry = None
        if (
            url is not None
            and url == self.url
            and not self.held
            and self.status in (NO_SIGNAL, AUTH_FAILED)
        ):
            # The tile keeps saying why it has no picture until frames flow.
            self._open(url)

    def _playback_ended(self, reason: Any, error: int, generation: int) -> None:
        if self.url is None or generation != self._generation:
            return
        # A live camera never "finishes": EOF is a lost connection like an error.
        if reason in (mpv.MpvEventEndFile.EOF, mpv.MpvEventEndFile.ERROR):
            detail = self._failure_reason()
            if detail is None and error:
                _LOGGER.debug("camera %r: mpv ended the stream with error %d", self.camera, error)
            if detail is None and self.status == NO_SIGNAL and self.reason not in (
                "",
                *_GENERIC_FAILURES,
            ):
                # FFmpeg's message did not come in time this once: the tile keeps the
                # reason it gave (it flickered between "connection refused" and
                # mpv's error number).
                detail = self.reason
            if detail is None:
                detail = (
                    STREAM_ENDED_REASON
                    if reason == mpv.MpvEventEndFile.EOF
                    else CANNOT_CONNECT_REASON
                )
            status = AUTH_FAILED if detail == AUTH_FAILED_REASON else NO_SIGNAL
            self._playing_since = None
            self._opening = False
            self._set_status(status, detail)
            self._schedule_retry()


def _fps_moved(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old != new
    return abs(old - new) > 0.5


def _failure(message: str) -> str | None:
    """Our words for the error mpv logged last, if we know it."""
    for marker, reason in _FAILURES:
        if marker.lower() in message.lower():
            return reason
    return None


def _ass_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "(").replace("}", ")")
