// Minimal remote: preset buttons and the wall preview (the full tablet remote replaces it).
"use strict";
const presetsEl = document.getElementById("presets");
const statusEl = document.getElementById("status");
const wallEl = document.getElementById("wall");

async function loadPresets() {
  const reply = await fetch("/api/v1/presets");
  const { presets } = await reply.json();
  presetsEl.replaceChildren(...presets.map((preset) => {
    const button = document.createElement("button");
    button.textContent = preset.title;
    button.dataset.preset = preset.name;
    button.classList.toggle("emergency", preset.priority === "emergency");
    button.addEventListener("click", () => activate(preset.name));
    return button;
  }));
}

async function activate(name) {
  const reply = await fetch(`/api/v1/presets/${encodeURIComponent(name)}/activate`,
                            { method: "POST", headers: { "X-Opswall-Client": "web" } });
  if (!reply.ok) statusEl.textContent = (await reply.json()).error;
}

function showState(state) {
  for (const button of presetsEl.querySelectorAll("button")) {
    button.classList.toggle("active", button.dataset.preset === state.preset);
  }
  statusEl.textContent = state.emergency ? `EMERGENCY: ${state.preset}` : (state.preset || "custom view");
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/events`);
  ws.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "state") showState(event.data);
  };
  ws.onclose = () => { statusEl.textContent = "reconnecting…"; setTimeout(connect, 1000); };
}

setInterval(() => { wallEl.src = `/api/v1/wall.jpg?width=960&t=${Date.now()}`; }, 1000);
loadPresets().then(connect);
