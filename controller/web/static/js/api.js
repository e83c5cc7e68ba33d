// Every request of the remote goes through request(): the one place to add auth or CSRF.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const CLIENT_NAME = "web";

/** Headers sent with every API request (add CSRF tokens or credentials here). */
function requestHeaders() {
  return { "X-Opswall-Client": CLIENT_NAME, Accept: "application/json" };
}

/** Call the API; resolves to the JSON reply (or null), rejects with ApiError. */
export async function request(method, path, body) {
  const init = { method, headers: requestHeaders(), credentials: "same-origin" };
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
