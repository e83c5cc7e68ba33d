// Display controls: what the processor reports, and operations sent to it.

import { api, seg } from "./api.js";
import { $, attempt, h, timeOf } from "./dom.js";
import { on, store } from "./store.js";

const choices = new Map();   // display name -> {inputs, presets, operations}
const pending = new Map();   // "name op" -> true while a request runs
let sliderHeld = false;

async function perform(name, operation, value, label) {
  const key = `${name} ${operation}`;
  pending.set(key, true);
  render();
  await attempt(`${name}: ${label} failed`,
    () => api.post(`/api/v1/displays/${seg(name)}/${seg(operation)}`, { value }));
  pending.delete(key);
  render();
}

async function loadChoices(name) {
  if (choices.has(name)) return;
  choices.set(name, { inputs: [], presets: 0, operations: [] });
  try {
    choices.set(name, await api.get(`/api/v1/displays/${seg(name)}/choices`));
  } catch {
    choices.delete(name);
    return;
  }
  render();
}

function toggle(name, entry, operation, title, onText, offText) {
  const on = Boolean(entry.state[operation]);
  const busy = pending.has(`${name} ${operation}`);
  return h(`button.toggle${on ? ".on" : ""}${busy ? ".busy" : ""}`, {
    type: "button",
    dataset: { op: operation, display: name },
    "aria-pressed": String(on),
    disabled: !entry.operations.includes(operation),
    onclick: () => perform(name, operation, !on, `${title} ${on ? "off" : "on"}`),
  },
  h("span.toggle-title", {}, title),
  h("span.toggle-state", {}, on ? onText : offText));
}

function brightness(name, entry) {
  const value = entry.state.brightness;
  const known = typeof value === "number";
  const output = h("output.bright-value", { for: `bright-${name}` }, known ? `${value}%` : "—");
  const slider = h("input.bright-slider", {
    type: "range", min: "0", max: "100", step: "1",
    id: `bright-${name}`,
    value: known ? String(value) : "0",
    "aria-label": `Brightness of ${name}`,
    dataset: { display: name },
    disabled: !entry.operations.includes("brightness"),
  });
  slider.addEventListener("pointerdown", () => { sliderHeld = true; });
  slider.addEventListener("input", () => {
    sliderHeld = true;
    output.textContent = `${slider.value}%`;
    output.classList.add("unconfirmed");
  });
  slider.addEventListener("change", () => {
    sliderHeld = false;
    perform(name, "brightness", Number(slider.value), `brightness ${slider.value}%`);
  });
  const busy = pending.has(`${name} brightness`);
  return h("div.control.bright", {},
    h("div.control-head", {}, h("span", {}, "Brightness"), output,
      busy ? h("span.setting", {}, "setting…") : null),
    slider);
}

function segmented(name, entry, operation, title, options, current) {
  if (!options.length || !entry.operations.includes(operation)) return null;
  return h("div.control", {},
    h("div.control-head", {}, h("span", {}, title),
      h("span.current", {}, current === undefined || current === null ? "not reported" : String(current))),
    h("div.segmented", { role: "group", "aria-label": title },
      options.map((option) => h(`button.seg${String(option) === String(current) ? ".on" : ""}`, {
        type: "button",
        dataset: { op: operation, value: String(option) },
        "aria-pressed": String(String(option) === String(current)),
        onclick: () => perform(name, operation, option, `${title.toLowerCase()} ${option}`),
      }, String(option)))));
}

function displayCard(name, entry) {
  loadChoices(name);
  const offered = choices.get(name) || { inputs: [], presets: 0 };
  const presets = Array.from({ length: offered.presets }, (_, i) => i + 1);
  const health = entry.online ? "online" : entry.port_open ? "silent" : "offline";
  const healthText = { online: "Answering", silent: "Not answering", offline: "Port closed" }[health];
  const s = entry.state;
  return h(`article.display.${health}`, { dataset: { display: name } },
    h("header.display-head", {},
      h("div", {},
        h("h3", {}, name),
        h("span.muted", {}, [entry.protocol, s.model, entry.simulated ? "simulated" : entry.port]
          .filter(Boolean).join(" · "))),
      h(`span.health.health-${health}`, {}, h("span.dot"), healthText)),
    entry.error ? h("p.display-error", { role: "alert" }, entry.error) : null,
    h("div.readouts", {},
      readout("Signal", s.signal === undefined ? "—" : s.signal ? "present" : "NONE", s.signal === false),
      readout("Input", s.input || "—"),
      readout("Updated", entry.updated ? timeOf(new Date(entry.updated)) : "never")),
    brightness(name, entry),
    h("div.toggles", {},
      toggle(name, entry, "black", "Blackout", "BLACK", "Picture on"),
      toggle(name, entry, "freeze", "Freeze", "FROZEN", "Live")),
    segmented(name, entry, "input", "Input", offered.inputs, s.input),
    segmented(name, entry, "preset", "Processor preset", presets, s.preset));
}

function readout(label, value, bad = false) {
  return h(`div.readout${bad ? ".bad" : ""}`, {}, h("span.readout-label", {}, label),
    h("span.readout-value", {}, value));
}

function render() {
  // Never redraw under a finger on the slider: the state shows once it is let go.
  if (sliderHeld) return;
  const pane = $("display-pane");
  const names = Object.keys(store.displays || {});
  const wall = h("div.wall-actions", {},
    h("button.btn-blackout", {
      type: "button", id: "wall-blackout",
      "aria-pressed": String(Boolean(store.state && store.state.blackout)),
      onclick: () => attempt("Blackout failed",
        () => api.post("/api/v1/blackout", { black: !(store.state && store.state.blackout) })),
    }, store.state && store.state.blackout ? "Restore all displays" : "Black out all displays"));
  if (!names.length) {
    pane.replaceChildren(h("p.muted.empty", {}, "No displays are configured on this wall."));
    return;
  }
  pane.replaceChildren(...names.map((name) => displayCard(name, store.displays[name])), wall);
}

export function initDisplays() {
  on("displays", render);
  // A finger let go without moving the slider sends no change event: redraw anyway.
  window.addEventListener("pointerup", () => {
    setTimeout(() => { if (sliderHeld) { sliderHeld = false; render(); } }, 250);
  });
  on("state", () => {
    const button = document.getElementById("wall-blackout");
    const black = Boolean(store.state && store.state.blackout);
    if (button && button.getAttribute("aria-pressed") !== String(black)) render();
  });
}
