// Every request of the remote goes through request(): the one place to add auth or CSRF.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const CLIENT_NAME = "web";
const CSRF_COOKIE = "opswall_csrf";

/** The session's CSRF token: the server set it as a cookie at login. */
function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join("="));
  }
  return "";
}

/** Headers sent with every API request; changes carry the CSRF token. */
function requestHeaders(method) {
  const headers = { "X-Opswall-Client": CLIENT_NAME, Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  return headers;
}

/** Call the API; resolves to the JSON reply (or null), rejects with ApiError. */
export async function request(method, path, body) {
  const init = { method, headers: requestHeaders(method), credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let reply;
  try {
    reply = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "the controller cannot be reached (network down?)");
  }
  const text = await reply.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!reply.ok) {
    const message = (data && data.error) || `${reply.status} ${reply.statusText}`;
    // The session ended (idle, logged out elsewhere, user changed): back to login.
    if (reply.status === 401 && path !== "/api/v1/login") {
      window.dispatchEvent(new CustomEvent("opswall:logged-out", { detail: message }));
    }
    throw new ApiError(reply.status, message);
  }
  return data;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  put: (path, body) => request("PUT", path, body),
  del: (path) => request("DELETE", path),
};

/** A path segment made safe for a URL. */
export const seg = (value) => encodeURIComponent(value);
