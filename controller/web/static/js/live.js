// The WebSocket to /api/v1/events: reconnects by itself; every connect is a catch-up.

import { apply, emit, store } from "./store.js";

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5000;

let socket = null;
let retryMs = RETRY_FIRST_MS;
let retryTimer = null;
export let nextRetryAt = 0;

function url() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/v1/events`;
}

function setLive(live) {
  if (store.live === live) return;
  store.live = live;
  if (!live) store.lostAt = new Date();
  emit("link");
}

/** Open the socket now (or keep the open one). */
export function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (socket && socket.readyState <= WebSocket.OPEN) return;
  const ws = new WebSocket(url());
  socket = ws;
  ws.addEventListener("message", (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (ws !== socket) return;
    apply(event);
    // The server sends every topic's snapshot on connect: up to date from here on.
    if (!store.live && event.type === "presets") {
      retryMs = RETRY_FIRST_MS;
      setLive(true);
    }
  });
  ws.addEventListener("close", () => {
    if (ws !== socket) return;
    socket = null;
    setLive(false);
    scheduleRetry();
  });
  ws.addEventListener("error", () => ws.close());
}

function scheduleRetry() {
  clearTimeout(retryTimer);
  nextRetryAt = Date.now() + retryMs;
  retryTimer = setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  emit("link");
}

/** Close the socket and stop reconnecting (logged out). */
export function stop() {
  clearTimeout(retryTimer);
  retryTimer = null;
  const ws = socket;
  socket = null;
  if (ws) ws.close();
}

/** Drop the socket as a lost Wi-Fi would (used by tests and for diagnosis). */
export function drop() {
  if (socket) socket.close();
}

// Back from sleep or from a network change: try at once rather than on the timer.
window.addEventListener("online", () => { if (!document.body.classList.contains("logged-out")) connect(); });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && !store.live
      && !document.body.classList.contains("logged-out")) connect();
});
