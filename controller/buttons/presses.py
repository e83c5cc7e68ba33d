"""Debounce and hold logic of one desk button, fed raw edges and the time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Press:
    """A debounced press that triggers the button's action."""

    #: How long the button had been held down when the press was decided.
    held_s: float
    #: Clock time at which the press was decided (a hold completed, or the debounce).
    at: float


class PressDetector:
    """Turns the raw, bouncing level of one button into presses.

    A level counts only once it has stayed unchanged for ``debounce_s``: bounce and
    glitches shorter than that do nothing, and a release glitch during a hold neither
    cancels nor restarts it. A button without ``hold_s`` presses as soon as the press
    is debounced. A button with ``hold_s`` presses once, when it has been held that
    long (and, after a release glitch, the level has been back for ``debounce_s``);
    releasing it earlier does nothing. Either kind presses at most once until
    it is released again.

    It has no clock and no timers: give every raw edge to :meth:`feed` with its time,
    and call :meth:`advance` when :attr:`deadline` is reached. Both return the presses
    decided up to the time given, each stamped with the exact time it was decided, so
    a late call gives the same result as a punctual one.
    """

    def __init__(
        self,
        *,
        debounce_s: float,
        hold_s: float | None = None,
        pressed: bool = False,
        now: float = 0.0,
    ) -> None:
        self.debounce_s = debounce_s
        self.hold_s = hold_s
        self._now = now
        self._raw = pressed
        self._raw_since = now
        self._stable = pressed
        self._press_start = now
        # A button already down when we start acts only after it is released.
        self._fired = pressed

    @property
    def pressed(self) -> bool:
        """Whether the button is held down, after debounce."""
        return self._stable

    @property
    def settled(self) -> bool:
        """Whether the raw level agrees with the debounced one (no change pending)."""
        return self._raw == self._stable

    @property
    def deadline(self) -> float | None:
        """The time at which :meth:`advance` may decide something, or None."""
        if self._raw != self._stable:
            return self._raw_since + self.debounce_s
        if self._stable and not self._fired and self.hold_s is not None:
            return self._hold_due()
        return None

    def feed(self, pressed: bool, at: float) -> list[Press]:
        """Take a raw edge (the new level) seen at ``at``; return the presses decided.

        Repeated levels are ignored. A time earlier than one already seen counts as
        that later time.
        """
        presses = self.advance(at)
        if pressed != self._raw:
            self._raw = pressed
            self._raw_since = self._now
        presses += self.advance(self._now)
        return presses

    def advance(self, now: float) -> list[Press]:
        """Let the time pass to ``now``; return the presses decided until then."""
        self._now = max(self._now, now)
        presses = []
        confirmed_at = self._raw_since + self.debounce_s
        if self._raw != self._stable and confirmed_at <= self._now:
            self._stable = self._raw
            if self._stable:
                self._press_start = self._raw_since
                self._fired = self.hold_s is None
                if self._fired:
                    presses.append(
                        Press(confirmed_at - self._press_start, confirmed_at)
                    )

        if self._stable and self._raw and not self._fired and self.hold_s is not None:
            due = self._hold_due()
            if due <= self._now:
                self._fired = True
                presses.append(Press(due - self._press_start, due))
        return presses

    def _hold_due(self) -> float:
        assert self.hold_s is not None
        # After a release glitch the hold is decided only once the level has been
        # back for the debounce time: chatter of a real release must not complete it.
        return max(self._press_start + self.hold_s, self._raw_since + self.debounce_s)
