// What the remote knows of the controller: one copy, fed by the WebSocket.

const listeners = new Map();

export const store = {
  state: null,
  cameras: [],
  displays: {},
  buttons: [],
  presets: [],
  seq: 0,
  live: false,
  lostAt: null,
};

/** Call fn(store) now-ish and whenever `topic` changes ("state", "cameras", ... "link"). */
export function on(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
}

export function emit(topic) {
  for (const fn of listeners.get(topic) || []) {
    try { fn(store); } catch (err) { console.error(`listener of ${topic} failed`, err); }
  }
}

/** Take one event from the WebSocket into the store. */
export function apply(event) {
  if (!(event.type in store)) return;
  store[event.type] = event.data;
  store.seq = event.seq;
  emit(event.type);
}

export function cameraById(id) {
  return store.cameras.find((camera) => camera.id === id);
}

export function cameraName(id) {
  const camera = cameraById(id);
  return camera ? camera.name || camera.id : id;
}
