"""TilePlayer: one libmpv player drawing one camera into one tile window."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import mpv

from controller.errors import WallError
from controller.layouts import Fit
from controller.wall.xserver import TileWindow

_LOGGER = logging.getLogger(__name__)

OVERLAY_ID = 7
OVERLAY_RES_Y = 720
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 15.0

# Tile statuses, as reported by the API.
EMPTY = "empty"
CONNECTING = "connecting"
PLAYING = "playing"
NO_SIGNAL = "no-signal"


class TilePlayer:
    """A libmpv player bound to its own X window; created once and reused.

    mpv calls observers and event callbacks on its own event thread; those only hand
    the event to the asyncio loop. Every other method runs on the loop.
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
        self.loads = 0
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
            )
        except (mpv.ShutdownError, OSError, AttributeError) as err:
            raise WallError(f"cannot start an mpv player: {err}") from err
        self._mpv.register_event_callback(self._on_mpv_event)

    def load(self, camera: str, url: str, label: str) -> None:
        """Start playing ``url`` (the stream of ``camera``) in this player's window."""
        self._cancel_retry()
        self.camera = camera
        self.url = url
        self._label = label
        self._retry_delay_s = RETRY_FIRST_S
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
        self._label = label
        self._set_status(NO_SIGNAL, reason)

    def release(self) -> None:
        """Stop playing and forget the camera: the player goes back to the idle pool."""
        self._cancel_retry()
        if self.url is not None:
            self._mpv.command("stop")
        self.camera = None
        self.url = None
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
        try:
            return self._mpv[name]
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

    def _set_status(self, status: str, reason: str) -> None:
        changed = (status, reason) != (self.status, self.reason)
        self.status = status
        self.reason = reason
        self._draw_overlay()
        if changed:
            self._on_status(self)

    def _draw_overlay(self) -> None:
        if self.status in (NO_SIGNAL, CONNECTING):
            title = "NO SIGNAL" if self.status == NO_SIGNAL else "CONNECTING…"
            detail = self.reason or self._label
            text = (
                r"{\an5\fs64\bord3\c&H3030F0&}"
                + title
                + r"\N{\fs36\c&HFFFFFF&}"
                + _ass_escape(detail)
            )
            if self.status == CONNECTING:
                text = text.replace(r"\c&H3030F0&", r"\c&H30C0F0&")
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

    def _playback_started(self, at: float) -> None:
        self.last_frame_at = at
        self._retry_delay_s = RETRY_FIRST_S
        if self.url is not None:
            self._set_status(PLAYING, "")

    def _schedule_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        delay = self._retry_delay_s * random.uniform(0.8, 1.2)
        self._retry_delay_s = min(self._retry_delay_s * 2, RETRY_MAX_S)
        url = self.url
        _LOGGER.info(
            "camera %r: %s; tile shows NO SIGNAL, retrying in %.1f s",
            self.camera,
            self.reason,
            delay,
        )
        self._retry = self._loop.call_later(delay, self._retry_now, url)

    def _retry_now(self, url: str | None) -> None:
        self._retry = None
        if url is not None and url == self.url and self.status == NO_SIGNAL:
            self.loads += 1
            self._mpv.loadfile(url)
            self._set_status(CONNECTING, "")

    def _playback_ended(self, reason: Any, error: int) -> None:
        if self.url is None:
            return
        # A live camera never "finishes": EOF is a lost connection like an error.
        if reason in (mpv.MpvEventEndFile.EOF, mpv.MpvEventEndFile.ERROR):
            detail = (
                "stream ended"
                if reason == mpv.MpvEventEndFile.EOF
                else "cannot connect"
            )
            if error:
                detail = f"{detail} (mpv error {error})"
            self._set_status(NO_SIGNAL, detail)
            self._schedule_retry()


def _ass_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "(").replace("}", ")")
