// The confidence monitor: the wall's picture every second, tiles and names drawn over it.

import { $, h, timeOf } from "./dom.js";
import { cameraName, on, store } from "./store.js";

const REFRESH_MS = 1000;
const STALE_PICTURE_MS = 4000;
const PICTURE_TIMEOUT_MS = 5000;

let loading = false;
let lastPictureAt = 0;
let selectedTile = null;
const selectionListeners = [];

export function selected() { return selectedTile; }

export function onSelection(fn) { selectionListeners.push(fn); }

export function select(tileId) {
  selectedTile = tileId;
  for (const el of document.querySelectorAll(".tile")) {
    el.classList.toggle("selected", el.dataset.tile === tileId);
  }
  for (const fn of selectionListeners) fn(tileId);
}

function pictureWidth() {
  const box = $("preview").getBoundingClientRect();
  const wanted = box.width * (window.devicePixelRatio || 1);
  return Math.min(1920, Math.max(320, Math.ceil(wanted / 160) * 160));
}

let shownUrl = null;

function refresh() {
  if (loading || document.visibilityState === "hidden") return;
  if (document.body.classList.contains("logged-out")) return;
  loading = true;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PICTURE_TIMEOUT_MS);
  const done = () => { clearTimeout(timer); loading = false; };
  // Fetched as a blob and decoded off screen: the last picture stays until the next
  // one is whole, and a picture that never comes does not stop the refresh.
  fetch(`/api/v1/wall.jpg?width=${pictureWidth()}`, { cache: "no-store", signal: abort.signal })
    .then((reply) => (reply.ok ? reply.blob() : Promise.reject(new Error(String(reply.status)))))
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      const next = new Image();
      next.onload = () => {
        $("wall-image").src = url;
        if (shownUrl) URL.revokeObjectURL(shownUrl);
        shownUrl = url;
        lastPictureAt = Date.now();
        done();
      };
      next.onerror = () => { URL.revokeObjectURL(url); done(); };
      next.src = url;
    })
    .catch(done);
}

function showAge() {
  const age = Date.now() - lastPictureAt;
  const label = $("preview-age");
  const stale = !lastPictureAt || age > STALE_PICTURE_MS;
  label.textContent = lastPictureAt
    ? (stale ? `picture from ${timeOf(new Date(lastPictureAt))}` : "live picture")
    : "waiting for picture";
  label.classList.toggle("is-stale", stale);
  $("preview").classList.toggle("picture-stale", stale);
}

const STATUS_TEXT = {
  playing: "LIVE",
  connecting: "CONNECTING",
  "no-signal": "NO SIGNAL",
  empty: "EMPTY",
};

function renderTiles() {
  const state = store.state;
  const layer = $("tile-layer");
  if (!state) return;
  const { width, height } = state.wall;
  $("preview").style.aspectRatio = `${width} / ${height}`;
  $("layout-name").textContent = state.layout || "";
  const tiles = state.tiles.map((tile) => {
    const [x, y, w, ht] = tile.rect;
    const name = tile.camera ? cameraName(tile.camera) : "Empty tile";
    const el = h(`button.tile.status-${tile.status}`, {
      type: "button",
      dataset: { tile: tile.id, camera: tile.camera || "" },
      "aria-label": `Tile ${tile.id}: ${name}`,
      title: tile.reason || "",
      style: {
        left: `${(100 * x) / width}%`,
        top: `${(100 * y) / height}%`,
        width: `${(100 * w) / width}%`,
        height: `${(100 * ht) / height}%`,
      },
      onclick: () => select(selectedTile === tile.id ? null : tile.id),
    },
    h("span.tile-id", {}, tile.id),
    h("span.tile-label", {},
      h("span.tile-dot", { "aria-hidden": "true" }),
      h("span.tile-name", {}, name),
      h("span.tile-status", {}, STATUS_TEXT[tile.status] || tile.status)));
    if (tile.id === selectedTile) el.classList.add("selected");
    return el;
  });
  layer.replaceChildren(...tiles);
  if (selectedTile && !state.tiles.some((t) => t.id === selectedTile)) select(null);
  const flag = $("preview-flag");
  flag.hidden = !state.blackout;
  flag.textContent = state.blackout ? "BLACKOUT" : "";
}

export function initPreview() {
  on("state", renderTiles);
  on("cameras", renderTiles);
  refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(showAge, 500);
}
