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
from controller.wall.xserver import TileWindow

_LOGGER = logging.getLogger(__name__)

OVERLAY_ID = 7
OVERLAY_RES_Y = 720
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 15.0
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

# What FFmpeg says (through mpv's log) when a stream cannot be opened → our reason.
_FAILURES = (
    ("401 Unauthorized", AUTH_FAILED_REASON),
    ("403 Forbidden", "access forbidden (403)"),
    ("404 Not Found", "stream not found (404)"),
    ("Connection refused", "connection refused"),
    ("Connection timed out", "no answer (timeout)"),
    ("No route to host", "no route to host"),
    ("Invalid data found", "not a video stream"),
)


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


class TilePlayer:
    """A libmpv player bound to its own X window; created once and reused.

    mpv calls observers, event callbacks and the log handler on its own event thread;
    those only hand the event to the asyncio loop. Every other method runs on the loop.
    A stream that fails is retried with backoff (1 s up to 15 s); one refused with 401
    shows AUTH FAILED and is retried only every 60 s up to 300 s. The URL may carry
    credentials: it is never logged, and mpv's messages are redacted.
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
        self.last_frame_at: float | None = None
        self.stream: str | None = None
        self.probe: StreamProbe | None = None
        self.loads = 0
        self._last_error = ""
        self._loaded_at = 0.0
        self._logged_fault = ""
        self._probe_later: asyncio.TimerHandle | None = None
        self._loop = loop
        self._on_status = on_status
        self._fit: Fit | None = None
        self._label = ""
        self._retry: asyncio.TimerHandle | None = None
        self._retry_delay_s = RETRY_FIRST_S
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
                force_window="yes",
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

    @property
    def auth_failed(self) -> bool:
        """True while the camera refuses our credentials."""
        return self.status == AUTH_FAILED

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
        self._retry_delay_s = RETRY_FIRST_S
        self._last_error = ""
        self._loaded_at = time.monotonic()
        self.loads += 1
        self._mpv.loadfile(url)
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
        self._set_status(NO_SIGNAL, reason)

    def release(self) -> None:
        """Stop playing and forget the camera: the player goes back to the idle pool."""
        self._cancel_retry()
        if self.url is not None:
            self._mpv.command("stop")
        self.camera = None
        self.url = None
        self.stream = None
        self.probe = None
        self._logged_fault = ""
        self._set_status(EMPTY, "")

    def set_fit(self, fit: Fit) -> None:
        """Fit (bars), fill (crop) or stretch the picture to the tile."""
        if fit == self._fit:
            return
        self._mpv["keepaspect"] = fit != "stretch"
        self._mpv["panscan"] = 1.0 if fit == "fill" else 0.0
        self._fit = fit

    def property(self, name: str) -> Any:
        """Read an mpv property (None when unavailable)."""
        # MPV[name] reads the *option* of that name; attributes read properties.
        try:
            return getattr(self._mpv, name.replace("-", "_"))
        except (RuntimeError, AttributeError):
            return None

    def terminate(self) -> None:
        """Shut the player down (blocking: run in a thread at shutdown)."""
        self._mpv.unregister_event_callback(self._on_mpv_event)
        self._mpv.terminate()

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
        if self.status in (NO_SIGNAL, CONNECTING, AUTH_FAILED):
            title = {
                NO_SIGNAL: "NO SIGNAL",
                CONNECTING: "CONNECTING…",
                AUTH_FAILED: "AUTH FAILED",
            }[self.status]
            detail = self.reason or self._label
            text = (
                r"{\an5\fs64\bord3\c&H3030F0&}"
                + title
                + r"\N{\fs36\c&HFFFFFF&}"
                + _ass_escape(detail)
            )
            if self.status == CONNECTING:
                text = text.replace(r"\c&H3030F0&", r"\c&H30C0F0&")
            elif self.status == AUTH_FAILED:
                text = text.replace(r"\c&H3030F0&", r"\c&HF030C0&")
            self._overlay(text)
        else:
            self._overlay("")

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

    # Runs on mpv's event thread: hand over to the loop and return.
    def _on_mpv_event(self, event: Any) -> None:
        kind = event.event_id.value
        if kind == mpv.MpvEventID.PLAYBACK_RESTART:
            self._loop.call_soon_threadsafe(self._playback_started, time.monotonic())
        elif kind == mpv.MpvEventID.END_FILE:
            data = event.data
            reason = getattr(data, "reason", None)
            error = getattr(data, "error", 0)
            self._loop.call_soon_threadsafe(self._playback_ended, reason, error)

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

    def _playback_started(self, at: float) -> None:
        self.last_frame_at = at
        self._retry_delay_s = RETRY_FIRST_S
        if self.url is not None:
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
        # TODO: with untimed playback (mpv 0.35, vo=x11) estimated-vf-fps stays
        # unavailable and RTSP gives no container-fps, so fps is None on the wall;
        # counting frames from a video-frame observer would measure it.
        fps = self.property("estimated-vf-fps") or self.property("container-fps")
        probe = StreamProbe(
            stream=self.stream,
            codec=str(codec).split(" (", 1)[0] if codec else "",
            width=params.get("w"),
            height=params.get("h"),
            fps=float(fps) if fps else None,
            measured_at=time.time(),
        )
        if probe != self.probe:
            self.probe = probe
            self._on_status(self)

    def _schedule_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
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
            and self.status in (NO_SIGNAL, AUTH_FAILED)
        ):
            self.loads += 1
            self._last_error = ""
            self._loaded_at = time.monotonic()
            self._mpv.loadfile(url)
            self._set_status(CONNECTING, "")

    def _playback_ended(self, reason: Any, error: int) -> None:
        if self.url is None:
            return
        # A live camera never "finishes": EOF is a lost connection like an error.
        if reason in (mpv.MpvEventEndFile.EOF, mpv.MpvEventEndFile.ERROR):
            detail = self._failure_reason()
            if detail is None:
                detail = (
                    "stream ended"
                    if reason == mpv.MpvEventEndFile.EOF
                    else "cannot connect"
                )
                if error:
                    detail = f"{detail} (mpv error {error})"
            status = AUTH_FAILED if detail == AUTH_FAILED_REASON else NO_SIGNAL
            self._set_status(status, detail)
            self._schedule_retry()


def _failure(message: str) -> str | None:
    """Our words for the error mpv logged last, if we know it."""
    for marker, reason in _FAILURES:
        if marker.lower() in message.lower():
            return reason
    return None


def _ass_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "(").replace("}", ")")
