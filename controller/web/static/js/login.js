// Logging in and out: the login screen, the one-time setup form, the user pill.

import { api, ApiError } from "./api.js";
import { $, toast } from "./dom.js";

let onLoggedIn = () => {};

function showScreen(setup) {
  document.body.classList.add("logged-out");
  delete document.body.dataset.role;
  $("login-screen").hidden = false;
  $("login-form").hidden = setup;
  $("setup-form").hidden = !setup;
  const setupFirst = $("setup-code").required ? $("setup-code") : $("setup-secret");
  (setup ? setupFirst : $("login-user")).focus();
}

function enter(session) {
  document.body.classList.remove("logged-out");
  document.body.dataset.role = session.role;
  $("login-screen").hidden = true;
  $("user-pill").textContent = `${session.user || session.token} · ${session.role}`;
  $("login-secret").value = "";
  onLoggedIn(session);
}

function showError(id, message) {
  $(id).textContent = message;
  $(id).hidden = !message;
}

async function submitLogin(event) {
  event.preventDefault();
  showError("login-error", "");
  $("login-submit").disabled = true;
  try {
    const session = await api.post("/api/v1/login", {
      user: $("login-user").value.trim(),
      secret: $("login-secret").value,
    });
    enter(session);
  } catch (err) {
    $("login-secret").value = "";
    showError("login-error", err instanceof ApiError ? err.message : String(err));
  } finally {
    $("login-submit").disabled = false;
  }
}

async function submitSetup(event) {
  event.preventDefault();
  showError("setup-error", "");
  try {
    await api.post("/api/v1/setup", {
      code: $("setup-code").value.trim(),
      secret: $("setup-secret").value,
    });
    $("setup-secret").value = "";
    $("login-user").value = "admin";
    toast("Admin secret set. Log in as admin with it.", "ok");
    showScreen(false);
  } catch (err) {
    showError("setup-error", err.message);
  }
}

async function logout() {
  try {
    await api.post("/api/v1/logout");
  } catch (err) {
    // Logged out already: the login screen is what the user wants either way.
  }
  location.reload();
}

/** Ask who this tablet is; show the login screen or call ready(session). */
export async function initLogin(ready) {
  onLoggedIn = ready;
  $("login-form").addEventListener("submit", submitLogin);
  $("setup-form").addEventListener("submit", submitSetup);
  $("logout-button").addEventListener("click", logout);
  window.addEventListener("opswall:logged-out", (event) => {
    if (document.body.classList.contains("logged-out")) return;
    showError("login-error", "Your session ended; log in again.");
    showScreen(false);
    window.dispatchEvent(new Event("opswall:stop"));
  });
  let session;
  try {
    session = await api.get("/api/v1/session");
  } catch (err) {
    showError("login-error", err.message);
    showScreen(false);
    return;
  }
  if (session.user || session.token) enter(session);
  else {
    // On the controller itself (its kiosk) the setup needs no code.
    const needsCode = session.setup_needs_code !== false;
    $("setup-code").required = needsCode;
    $("setup-code").closest("label").hidden = !needsCode;
    showScreen(Boolean(session.setup));
  }
}

/** Check the session still stands (after the live link dropped). */
export async function checkSession() {
  try {
    const session = await api.get("/api/v1/session");
    if (!session.user && !session.token) {
      window.dispatchEvent(new CustomEvent("opswall:logged-out"));
    }
  } catch (err) {
    // Unreachable: the live link's retry handles that.
  }
}
