// Preset buttons, emergency presets (hold or confirm), RETURN, and saving the wall.

import { api, seg } from "./api.js";
import { $, attempt, h, holdable, toast } from "./dom.js";
import { on, store } from "./store.js";

const EMERGENCY_HOLD_MS = 1000;

async function activate(preset) {
  const done = await attempt(`${preset.title || preset.name} not activated`,
    () => api.post(`/api/v1/presets/${seg(preset.name)}/activate`));
  if (done) toast(`${preset.title || preset.name} is on the wall`, "ok", 3);
}

function confirmEmergency(preset) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = `Activate ${preset.title || preset.name}?`;
  $("confirm-body").textContent =
    "This emergency preset takes over the wall. Normal presets are refused until someone presses RETURN.";
  dialog.returnValue = "";
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "ok") activate(preset);
  }, { once: true });
  dialog.showModal();
  $("confirm-ok").focus();
}

function presetButton(preset) {
  const emergency = preset.priority === "emergency";
  const cameras = Object.values(preset.cameras).filter(Boolean).length;
  const button = h(`button.preset${emergency ? ".preset-emergency" : ""}`, {
    type: "button",
    dataset: { preset: preset.name },
    "aria-pressed": "false",
  },
  h("span.preset-title", {}, preset.title || preset.name),
  h("span.preset-meta", {},
    emergency ? "Hold 1 s · or tap to confirm" : `${cameras} camera${cameras === 1 ? "" : "s"}`,
    preset.saved ? h("span.badge", {}, "saved") : null),
  h("span.hold-fill", { "aria-hidden": "true" }));
  if (emergency) {
    holdable(button, EMERGENCY_HOLD_MS, () => activate(preset), () => confirmEmergency(preset));
  } else {
    button.addEventListener("click", () => activate(preset));
  }
  return button;
}

let renderedKey = "";

function renderPresets() {
  const key = JSON.stringify(store.presets.map((p) => [p.name, p.title, p.priority, p.saved, p.cameras]));
  if (key !== renderedKey) {
    renderedKey = key;
    const normal = store.presets.filter((p) => p.priority !== "emergency");
    const emergency = store.presets.filter((p) => p.priority === "emergency");
    $("preset-list").replaceChildren(...normal.map(presetButton));
    $("emergency-list").replaceChildren(...emergency.map(presetButton));
    document.querySelector(".emergency-head").hidden = emergency.length === 0;
  }
  markActive();
}

function markActive() {
  const state = store.state;
  const active = state ? state.preset : null;
  for (const button of document.querySelectorAll("button.preset")) {
    const on = button.dataset.preset === active;
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", String(on));
    const locked = Boolean(state && state.emergency) && !button.classList.contains("preset-emergency");
    button.classList.toggle("locked", locked);
  }
}

function renderEmergency() {
  const state = store.state;
  const banner = $("emergency-banner");
  const emergency = Boolean(state && state.emergency);
  banner.hidden = !emergency;
  document.body.classList.toggle("emergency", emergency);
  if (!emergency) return;
  const preset = store.presets.find((p) => p.name === state.preset);
  $("emergency-title").textContent = preset ? preset.title || preset.name : state.preset || "custom view";
  const back = store.presets.find((p) => p.name === state.return_to);
  $("emergency-sub").textContent = state.return_to
    ? `RETURN goes back to ${back ? back.title : state.return_to}`
    : "RETURN goes back to the home preset";
}

async function pressReturn() {
  const done = await attempt("RETURN refused", () => api.post("/api/v1/return"));
  if (done) toast("Emergency ended: the wall is back to what it showed before", "ok", 4);
}

function openSaveDialog() {
  const dialog = $("save-dialog");
  const title = $("save-title");
  const name = $("save-name");
  title.value = "";
  name.value = "";
  name.dataset.edited = "";
  $("save-error").hidden = true;
  dialog.showModal();
  title.focus();
}

function slug(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 40);
}

async function submitSave(event) {
  event.preventDefault();
  const title = $("save-title").value.trim();
  const name = $("save-name").value.trim();
  const error = $("save-error");
  try {
    await api.post("/api/v1/presets", { name, title });
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
    return;
  }
  $("save-dialog").close();
  toast(`Preset “${title}” saved`, "ok", 4);
}

export function initPresets() {
  on("presets", () => { renderPresets(); renderEmergency(); });
  on("state", () => { markActive(); renderEmergency(); });
  $("return-button").addEventListener("click", pressReturn);
  $("save-preset-open").addEventListener("click", openSaveDialog);
  $("save-title").addEventListener("input", () => {
    const name = $("save-name");
    if (!name.dataset.edited) name.value = slug($("save-title").value);
  });
  $("save-name").addEventListener("input", () => { $("save-name").dataset.edited = "1"; });
  $("save-form").addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    submitSave(event);
  });
}
