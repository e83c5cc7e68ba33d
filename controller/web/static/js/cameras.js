// The camera picker: cards with thumbnail and health; tap-tap or drag onto a tile.

import { api, seg } from "./api.js";
import { $, attempt, h, toast } from "./dom.js";
import { onSelection, select, selected } from "./preview.js";
import { on, store } from "./store.js";

const THUMBNAIL_REFRESH_MS = 5000;
const DRAG_START_PX = 8;

export async function assign(tileId, cameraId) {
  const what = cameraId ? `${cameraLabel(cameraId)} not put in tile ${tileId}` : `tile ${tileId} not cleared`;
  const done = await attempt(what,
    () => api.put(`/api/v1/tiles/${seg(tileId)}`, { camera: cameraId }));
  if (done) {
    select(null);
    toast(cameraId ? `${cameraLabel(cameraId)} → tile ${tileId}` : `Tile ${tileId} cleared`, "ok", 2.5);
  }
}

function cameraLabel(id) {
  const camera = store.cameras.find((c) => c.id === id);
  return camera ? camera.name || id : id;
}

function shownIn(cameraId) {
  const state = store.state;
  const tile = state && state.tiles.find((t) => t.camera === cameraId);
  return tile ? tile.id : null;
}

function thumbnailUrl(id) {
  // The tile is part of the address so that a camera moved on or off the wall gets a
  // new picture at once rather than the browser's copy of the old one.
  const tick = Math.floor(Date.now() / THUMBNAIL_REFRESH_MS);
  return `/api/v1/cameras/${seg(id)}/thumbnail.jpg?tile=${seg(shownIn(id) || "-")}&t=${tick}`;
}

function card(camera) {
  const tile = shownIn(camera.id);
  const health = !camera.online ? "offline" : camera.signal === false ? "nosignal" : "online";
  const healthText = {
    online: "Online",
    // The reason on a line of its own: on a narrow card it is what gets cut.
    nosignal: `No signal${camera.reason ? `\n${camera.reason}` : ""}`,
    offline: `Offline${camera.reason ? `\n${camera.reason}` : ""}`,
  }[health];
  const el = h(`button.camera.${health}`, {
    type: "button",
    dataset: { camera: camera.id },
    "aria-label": `${camera.name || camera.id}, ${camera.location || ""}, ${health}`,
  },
  h("span.thumb", {},
    h("img", { src: thumbnailUrl(camera.id), alt: "", loading: "lazy", draggable: "false" }),
    tile ? h("span.on-wall", {}, `tile ${tile}`) : null),
  h("span.camera-text", {},
    h("span.camera-name", {}, camera.name || camera.id),
    h("span.camera-loc", {}, camera.location || camera.address || "—")),
  h("span.camera-health", {},
    h("span.dot", { "aria-hidden": "true" }),
    h("span.health-text", { title: camera.reason || "" },
      healthText)));
  attachDrag(el, camera.id);
  return el;
}

let renderedKey = "";

function render() {
  const visible = store.cameras.filter((c) => !c.hidden);
  const key = JSON.stringify([visible.map((c) => [c.id, c.name, c.location, c.online, c.signal, c.reason]),
    store.state ? store.state.tiles.map((t) => t.camera) : []]);
  if (key === renderedKey) return;
  renderedKey = key;
  $("camera-grid").replaceChildren(...visible.map(card));
  const online = visible.filter((c) => c.online && c.signal !== false).length;
  $("camera-count").textContent = `${online}/${visible.length} online`;
  $("camera-count").classList.toggle("warn", online < visible.length);
}

function refreshThumbnails() {
  if (document.visibilityState === "hidden") return;
  for (const img of document.querySelectorAll(".camera .thumb img")) {
    const id = img.closest(".camera").dataset.camera;
    const src = thumbnailUrl(id);
    if (!img.src.endsWith(src)) img.src = src;
  }
}

function tileAt(x, y) {
  const el = document.elementFromPoint(x, y);
  return el ? el.closest(".tile") : null;
}

/** Pointer-driven drag (works with touch, pen and mouse; HTML5 drag does not on tablets). */
function attachDrag(el, cameraId) {
  let start = null;
  let ghost = null;
  let over = null;
  let dragged = false;

  el.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    start = { x: event.clientX, y: event.clientY, id: event.pointerId };
    dragged = false;
  });
  el.addEventListener("pointermove", (event) => {
    if (!start || event.pointerId !== start.id) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!ghost) {
      if (Math.hypot(dx, dy) < DRAG_START_PX) return;
      // A mostly vertical swipe on touch is a scroll of the list, not a drag.
      if (event.pointerType === "touch" && Math.abs(dy) > Math.abs(dx) * 1.5) { start = null; return; }
      try { el.setPointerCapture(event.pointerId); } catch { /* gone */ }
      ghost = h("div.drag-ghost", {}, cameraLabel(cameraId));
      document.body.append(ghost);
      document.body.classList.add("dragging");
      dragged = true;
    }
    ghost.style.transform = `translate(${event.clientX + 12}px, ${event.clientY + 12}px)`;
    const tile = tileAt(event.clientX, event.clientY);
    if (tile !== over) {
      if (over) over.classList.remove("drop-target");
      over = tile;
      if (over) over.classList.add("drop-target");
    }
  });
  const finish = (event, drop) => {
    if (!start) return;
    start = null;
    if (ghost) { ghost.remove(); ghost = null; }
    document.body.classList.remove("dragging");
    if (over) over.classList.remove("drop-target");
    const target = drop && dragged ? tileAt(event.clientX, event.clientY) : null;
    over = null;
    if (target) assign(target.dataset.tile, cameraId);
  };
  el.addEventListener("pointerup", (event) => finish(event, true));
  el.addEventListener("pointercancel", (event) => finish(event, false));
  el.addEventListener("click", (event) => {
    if (dragged) { event.preventDefault(); dragged = false; return; }
    const tile = selected();
    if (tile) assign(tile, cameraId);
    else toast("Tap a tile on the wall first, then the camera to show there", "info", 3);
  });
}

function showPickHint(tileId) {
  const hint = $("pick-hint");
  hint.hidden = !tileId;
  document.body.classList.toggle("picking", Boolean(tileId));
  if (!tileId) return;
  const tile = store.state.tiles.find((t) => t.id === tileId);
  const current = tile && tile.camera ? cameraLabel(tile.camera) : "nothing";
  $("pick-hint-text").textContent = `Tile ${tileId} (now: ${current}) — tap a camera to show there`;
  $("clear-tile").hidden = !(tile && tile.camera);
}

export function initCameras() {
  on("cameras", render);
  on("state", render);
  onSelection(showPickHint);
  $("cancel-pick").addEventListener("click", () => select(null));
  $("clear-tile").addEventListener("click", () => { const t = selected(); if (t) assign(t, null); });
  setInterval(refreshThumbnails, THUMBNAIL_REFRESH_MS);
}
