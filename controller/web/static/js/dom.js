// Small DOM helpers shared by the panels of the remote.

/** Create an element: h("button.big", {type: "button", onclick}, "text", child...). */
export function h(spec, props = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

export function timeOf(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** Show a message to the operator; kind is "error", "ok" or "info". */
export function toast(message, kind = "info", seconds = 6) {
  const box = $("toasts");
  const item = h(`div.toast.toast-${kind}`, { role: kind === "error" ? "alert" : "status" },
    h("span.toast-text", {}, message),
    h("button.toast-close", { type: "button", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.remove(), seconds * 1000);
  return item;
}

/** Run an API action; show its refusal as the operator should read it. */
export async function attempt(what, action) {
  try {
    return await action();
  } catch (err) {
    toast(`${what}: ${err.message}`, "error", 8);
    return undefined;
  }
}

/**
 * Make `el` act on a press-and-hold of `holdMs` (a fill shows progress) and, when
 * `onTap` is given, on a short tap too. Keyboard Enter/Space counts as a tap.
 */
export function holdable(el, holdMs, onHold, onTap) {
  let timer = null;
  let started = 0;
  let fired = false;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
    el.classList.remove("holding");
    el.style.removeProperty("--hold-ms");
  };
  el.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    fired = false;
    started = performance.now();
    el.style.setProperty("--hold-ms", `${holdMs}ms`);
    el.classList.add("holding");
    try { el.setPointerCapture(event.pointerId); } catch { /* not capturable */ }
    timer = setTimeout(() => { fired = true; cancel(); onHold(); }, holdMs);
  });
  el.addEventListener("pointerup", () => {
    const short = !fired && performance.now() - started < holdMs;
    cancel();
    if (short && onTap) onTap();
  });
  el.addEventListener("pointercancel", cancel);
  el.addEventListener("contextmenu", (event) => event.preventDefault());
  el.addEventListener("keydown", (event) => {
    if ((event.key === "Enter" || event.key === " ") && onTap) {
      event.preventDefault();
      onTap();
    }
  });
}
