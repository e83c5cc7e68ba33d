// The desk button panel: lamps as the controller drives them, and simulated presses.

import { api, seg } from "./api.js";
import { $, attempt, h, toast } from "./dom.js";
import { on, store } from "./store.js";

const MAX_PRESS_S = 30;
let mock = false;
let known = false;

async function press(button, heldS) {
  const holdS = Math.min(MAX_PRESS_S, Math.max(0.05, heldS));
  const reply = await attempt(`Button ${button.name}`,
    () => api.post(`/api/v1/buttons/${seg(button.name)}/press`, { hold_s: Number(holdS.toFixed(2)) }));
  if (reply && reply.event === null && button.hold_s) {
    toast(`Button ${button.name} needs a hold of ${button.hold_s} s; it was pressed for ${holdS.toFixed(1)} s`, "info", 4);
  }
}

function deskButton(button) {
  const lamp = button.lamp || "none";
  const el = h(`button.desk-button.lamp-${lamp}${button.pressed ? ".pressed" : ""}`, {
    type: "button",
    dataset: { button: button.name, lamp },
    disabled: !mock,
    "aria-label": `${button.name} button, lamp ${lamp}`,
  },
  h("span.lamp", { "aria-hidden": "true" }),
  h("span.desk-name", {}, button.name),
  h("span.desk-action", {}, button.action === button.name ? "" : `→ ${button.action}`),
  h("span.desk-hold", {}, button.hold_s ? `hold ${button.hold_s} s` : "press"));
  let downAt = 0;
  el.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    downAt = performance.now();
    el.classList.add("finger");
  });
  const up = (send) => {
    if (!downAt) return;
    const held = (performance.now() - downAt) / 1000;
    downAt = 0;
    el.classList.remove("finger");
    if (send) press(button, held);
  };
  el.addEventListener("pointerup", () => up(true));
  el.addEventListener("pointercancel", () => up(false));
  el.addEventListener("pointerleave", () => up(false));
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      press(button, button.hold_s ? button.hold_s + 0.3 : 0.1);
    }
  });
  return el;
}

function render() {
  const pane = $("desk-pane");
  if (!known) {
    pane.replaceChildren(h("p.muted.empty", {}, "Reading the desk panel…"));
    return;
  }
  if (!store.buttons.length) {
    pane.replaceChildren(h("p.muted.empty", {}, "This wall has no desk buttons."));
    return;
  }
  pane.replaceChildren(
    h("p.muted.desk-note", {}, mock
      ? "Simulated desk panel (mock GPIO): press and hold as on the real desk. Lamps show what the controller drives."
      : "Lamps show the real desk panel. Presses come from the desk itself."),
    h("div.desk-grid", {}, store.buttons.map(deskButton)),
    h("div.lamp-key", {},
      h("span.key.lamp-on", {}, h("span.lamp"), "on"),
      h("span.key.lamp-blinking", {}, h("span.lamp"), "blinking"),
      h("span.key.lamp-off", {}, h("span.lamp"), "off")));
}

let lampKey = "";

// TODO: the service publishes "buttons" only after a desk press, not when an
// activation from elsewhere changes the lamps; until it does, re-read them then.
async function rereadLamps() {
  if (!known || !store.state) return;
  const key = JSON.stringify([store.state.preset, store.state.emergency, store.state.blackout]);
  if (key === lampKey) return;
  lampKey = key;
  try {
    const reply = await api.get("/api/v1/buttons");
    store.buttons = reply.buttons;
    render();
  } catch { /* the socket's next snapshot will do */ }
}

export function initDesk() {
  on("buttons", render);
  on("state", rereadLamps);
}

/** Ask whether presses can be simulated (mock pins): once logged in, as it needs a role. */
export async function loadDesk() {
  try {
    const reply = await api.get("/api/v1/buttons");
    mock = reply.mock;
  } catch {
    mock = false;
  }
  known = true;
  render();
}
