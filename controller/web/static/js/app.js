// The Opswall tablet remote: wires the panels to the live state of the controller.

import { initAudit } from "./audit.js";
import { initCameras } from "./cameras.js";
import { initDesk, loadDesk } from "./desk.js";
import { initDisplays } from "./displays.js";
import { $, h, timeOf } from "./dom.js";
import { connect, drop, nextRetryAt, stop } from "./live.js";
import { checkSession, initLogin } from "./login.js";
import { initPresets } from "./presets.js";
import { initPreview } from "./preview.js";
import { on, store } from "./store.js";

function showLink() {
  const body = document.body;
  body.classList.remove("connecting");
  body.classList.toggle("stale", !store.live);
  $("link-pill").className = `link-pill ${store.live ? "live" : "down"}`;
  $("stale-banner").hidden = store.live || !store.lostAt;
  updateLinkText();
}

function updateLinkText() {
  if (store.live) {
    $("link-text").textContent = "Live";
    return;
  }
  const wait = Math.max(0, Math.ceil((nextRetryAt - Date.now()) / 1000));
  $("link-text").textContent = store.lostAt ? "Offline" : "Connecting…";
  if (store.lostAt) {
    $("stale-text").textContent =
      `Everything below is as it was at ${timeOf(store.lostAt)} and may be out of date. ` +
      (wait > 0 ? `Reconnecting in ${wait} s…` : "Reconnecting…");
  }
}

function showNowShowing() {
  const state = store.state;
  if (!state) return;
  const preset = store.presets.find((p) => p.name === state.preset);
  const title = state.preset ? (preset ? preset.title || preset.name : state.preset) : "Custom view";
  $("now-showing-title").textContent = title + (state.blackout ? " · BLACKOUT" : "");
  $("now-showing").classList.toggle("is-emergency", Boolean(state.emergency));
}

function showActivity() {
  const state = store.state;
  if (!state) return;
  const items = [...state.activations].reverse().map((a) => h(`li.act.act-${a.result}`, {},
    h("time", {}, timeOf(new Date(a.at * 1000))),
    h("span.act-what", {}, a.what),
    h("span.act-origin", {}, a.origin),
    a.detail ? h("span.act-detail", {}, a.detail) : null));
  $("activity").replaceChildren(...items);
}

function initTabs() {
  const tabs = [...document.querySelectorAll(".tabs .tab")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) {
        const on = other === tab;
        other.setAttribute("aria-selected", String(on));
        $(other.getAttribute("aria-controls")).hidden = !on;
      }
    });
  }
}

function tickClock() {
  $("clock").textContent = timeOf(new Date());
  if (!store.live) updateLinkText();
}

initTabs();
initPresets();
initPreview();
initCameras();
initDisplays();
initDesk();
initAudit();
on("link", showLink);
on("link", () => { if (!store.live && store.lostAt) checkSession(); });
on("state", showNowShowing);
on("presets", showNowShowing);
on("state", showActivity);
tickClock();
setInterval(tickClock, 1000);
window.addEventListener("opswall:stop", stop);
initLogin(() => { connect(); loadDesk(); });

// For diagnosis from the browser console and for the browser tests.
window.opswallRemote = { store, dropConnection: drop };
