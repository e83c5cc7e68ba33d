"""Odd camera streams: each plays with its tile's fit mode, or the tile says why."""

from __future__ import annotations

import asyncio
import time
from typing import cast

import pytest
from PIL import Image, ImageChops

from controller.layouts import Fit, Rect
from controller.wall.player import (
    CONNECTING,
    NO_SIGNAL,
    NO_VIDEO_REASON,
    PLAYING,
    WAITING_FOR_KEYFRAME_REASON,
)
from controller.wall.wall import Wall
from tests.conftest import wait_for
from tests.reliability.conftest import feed, grab, grid

pytestmark = pytest.mark.wall

TILE_A = Rect(0, 0, 640, 360)
TILE_B = Rect(640, 0, 640, 360)
GREEN = (0x30, 0xC0, 0x30)
COLOUR_TOLERANCE = 48
# The picture's width/height on screen may differ from the stream's by this much
# (whole pixels of scaling, the colour's edge blending into the bars).
ASPECT_TOLERANCE = 0.03
PICTURE_TIMEOUT_S = 15
# A 12 s keyframe interval: a player joining just after a keyframe waits ≈12 s.
LONG_GOP_PICTURE_S = 13.5


def status(wall: Wall, tile_id: str) -> dict:
    return next(t for t in wall.tiles() if t["id"] == tile_id)


def colour_box(image: Image.Image, colour: tuple[int, int, int]) -> Rect | None:
    """The smallest rectangle around every pixel of ``colour`` (the camera's solid
    background) in ``image``; the burned-in text inside it does not matter."""
    masks = [
        band.point(lambda v, c=c: 255 if abs(v - c) <= COLOUR_TOLERANCE else 0)
        for band, c in zip(image.split(), colour, strict=True)
    ]
    both = ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2])
    box = both.getbbox()
    if box is None:
        return None
    left, top, right, bottom = box
    return Rect(left, top, right - left, bottom - top)


def near(
    found: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 48
) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(found, expected, strict=True))


def black(pixel: tuple[int, ...]) -> bool:
    return max(pixel) < 24


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return cast("tuple[int, int, int]", image.getpixel((x, y)))


def pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    return cast("list[tuple[int, int, int]]", list(image.get_flattened_data()))


def yellow_pixels(image: Image.Image) -> int:
    """Pixels of the CONNECTING… title's colour."""
    return sum(1 for r, g, b in pixels(image) if r > 200 and 150 < g < 230 and b < 90)


def shows_aspect(
    display_name: str, tile: Rect, aspect: float, colour: tuple[int, int, int] = GREEN
) -> Rect | None:
    """The picture's box when it is centred in ``tile`` with ``aspect`` (fit)."""
    box = colour_box(grab(display_name, tile), colour)
    if box is None or box.h == 0:
        return None
    centred = (
        abs((box.x + box.w / 2) - tile.w / 2) <= 2
        and abs((box.y + box.h / 2) - tile.h / 2) <= 2
    )
    if centred and abs(box.w / box.h - aspect) <= ASPECT_TOLERANCE:
        return box
    return None


async def play(
    wall: Wall, camera_url: str, fit: Fit = "fit", tile_id: str = "a"
) -> None:
    await wall.show(grid(fit=fit, tiles=1), {"a": feed(tile_id, camera_url)})
    await wait_for(
        lambda: status(wall, "a")["status"] == PLAYING, PICTURE_TIMEOUT_S, "playing"
    )


@pytest.mark.parametrize(
    ("args", "codec", "size", "aspect"),
    [
        pytest.param(("--codec", "h265"), "hevc", (640, 360), 640 / 360, id="h265"),
        pytest.param(
            ("--width", "2288", "--height", "1288", "--fps", "5"),
            "h264",
            (2288, 1288),
            2288 / 1288,
            id="odd-size-2288x1288",
        ),
        pytest.param(
            ("--width", "3840", "--height", "2160", "--fps", "2", "--gop", "2"),
            "h264",
            (3840, 2160),
            16 / 9,
            id="4k-main-stream",
        ),
        pytest.param(
            ("--width", "720", "--height", "576", "--par", "64/45"),
            "h264",
            (720, 576),
            16 / 9,
            id="anamorphic-pal",
        ),
        pytest.param(
            ("--audio", "pcmu"), "h264", (640, 360), 640 / 360, id="g711-audio"
        ),
    ],
)
async def test_odd_stream_fills_its_fit_tile_with_the_right_aspect(
    xvfb, cameras, make_wall, args, codec, size, aspect
):
    camera = await cameras("--color", "30c030", *args)
    wall = await make_wall()
    await play(wall, camera.url)

    box = await wait_for(
        lambda: shows_aspect(xvfb, TILE_A, aspect), 5, f"a picture of aspect {aspect}"
    )
    # A 16:9 picture in a 16:9 tile: no bars (anamorphic PAL shown 5:4 would leave
    # 95 px bars each side).
    assert box.w >= 636 and box.h >= 356, box
    player = wall.player_for("a")
    assert player is not None
    await wait_for(lambda: player.probe is not None, 5, "a stream measurement")
    assert player.probe is not None
    assert (player.probe.codec, player.probe.width, player.probe.height) == (
        codec,
        *size,
    )
    assert status(wall, "a")["reason"] == ""


@pytest.mark.parametrize("fit", ["fit", "fill", "stretch"])
async def test_portrait_camera_in_a_landscape_tile_follows_the_fit_mode(
    xvfb, cameras, make_wall, fit
):
    camera = await cameras(
        "--color", "30c030", "--width", "1080", "--height", "1920", "--fps", "5"
    )
    wall = await make_wall()
    await play(wall, camera.url, fit=fit)

    if fit == "fit":
        box = await wait_for(
            lambda: shows_aspect(xvfb, TILE_A, 1080 / 1920), 5, "a 9:16 picture"
        )
        assert box.h >= 356 and 196 <= box.w <= 208, box
        image = grab(xvfb, TILE_A)
        assert black(pixel(image, 20, 180)), "no bar on the left"
        assert black(pixel(image, 620, 180)), "no bar on the right"
        return

    await wait_for(
        lambda: colour_box(grab(xvfb, TILE_A), GREEN) == Rect(0, 0, 640, 360),
        5,
        "the whole tile coloured",
    )
    # fill crops the picture to the tile's middle, where the burned-in clock (at the
    # picture's bottom) is not; stretch squeezes all of it in, clock included.
    corner = grab(xvfb, Rect(500, 320, 140, 40))
    clock_pixels = sum(1 for found in pixels(corner) if not near(found, GREEN))
    if fit == "fill":
        assert clock_pixels < 20, f"{clock_pixels} non-background pixels: not cropped"
    else:
        assert clock_pixels > 200, f"{clock_pixels} clock pixels: the clock is cut off"


async def test_resolution_change_mid_stream_keeps_the_aspect(xvfb, cameras, make_wall):
    camera = await cameras(
        "--color", "30c030", "--resize-after", "4", "--resize-to", "480x360"
    )
    wall = await make_wall()
    await play(wall, camera.url)
    await wait_for(
        lambda: shows_aspect(xvfb, TILE_A, 16 / 9), 5, "the 16:9 picture first"
    )

    box = await wait_for(
        lambda: shows_aspect(xvfb, TILE_A, 4 / 3), 8, "the 4:3 picture after the change"
    )
    assert 476 <= box.w <= 484 and box.h >= 356, box
    assert status(wall, "a")["status"] == PLAYING
    player = wall.player_for("a")
    assert player is not None
    await wait_for(
        lambda: player.probe is not None and player.probe.width == 480,
        5,
        "the new size measured",
    )


async def test_twelve_second_keyframe_interval_shows_a_picture_in_time(
    xvfb, cameras, make_wall, record_property
):
    # Keyframes every 12 s on the camera's own schedule: the tile joins mid-GOP.
    camera = await cameras(
        "--color", "30c030", "--gop", "300", "--keyframes-on-schedule"
    )
    await asyncio.sleep(1.0)
    wall = await make_wall()
    joined_at = time.monotonic()
    await wall.show(grid(tiles=1), {"a": feed("a", camera)})

    # Until its first picture the tile says what it waits for, never "playing".
    await wait_for(
        lambda: status(wall, "a")["reason"] == WAITING_FOR_KEYFRAME_REASON,
        5,
        "the tile to say it waits for a keyframe",
    )
    assert status(wall, "a")["status"] == CONNECTING
    # The tile is not left black meanwhile: CONNECTING… stays drawn the whole wait.
    while (tile := status(wall, "a"))["status"] != PLAYING:
        assert time.monotonic() - joined_at < LONG_GOP_PICTURE_S, "no picture"
        assert tile["status"] == CONNECTING, tile
        assert yellow_pixels(grab(xvfb, TILE_A)) > 300 or (
            status(wall, "a")["status"] == PLAYING
        ), "the tile is black: CONNECTING… is not drawn"
        await asyncio.sleep(0.25)
    await wait_for(
        lambda: shows_aspect(xvfb, TILE_A, 16 / 9), 2, "the picture on the wall"
    )
    picture_s = time.monotonic() - joined_at
    record_property("long_gop_first_picture_s", round(picture_s, 3))
    print(f"12 s keyframe interval: first picture after {picture_s:.2f} s")
    assert picture_s < LONG_GOP_PICTURE_S
    assert picture_s > 5, "the camera keyed early: the test did not join mid-GOP"


async def test_camera_that_comes_back_with_audio_only_shows_no_video(
    xvfb, cameras, make_wall
):
    camera = await cameras("--color", "30c030", "--audio", "pcmu")
    wall = await make_wall()
    await play(wall, camera.url)

    await camera.kill()
    await cameras("--audio-only", port=camera.port)
    await wait_for(
        lambda: status(wall, "a")["reason"] == NO_VIDEO_REASON, 10, "NO VIDEO"
    )
    tile = status(wall, "a")
    assert tile["status"] == NO_SIGNAL
    # Retried now and then, and still not "playing" after the retries.
    await asyncio.sleep(4)
    assert (status(wall, "a")["status"], status(wall, "a")["reason"]) == (
        NO_SIGNAL,
        NO_VIDEO_REASON,
    )
    image = grab(xvfb, TILE_A)
    left = colour_box(image, GREEN)
    assert left is None or left.w < 100, f"the last picture still shows: {left}"
    red_text = sum(1 for r, g, b in pixels(image) if r > 180 and g < 110 and b < 110)
    assert red_text > 300, "the NO VIDEO title is not drawn"
