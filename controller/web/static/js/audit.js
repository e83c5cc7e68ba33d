// The admin's audit view: the latest entries of the audit log, newest first.

import { api } from "./api.js";
import { $, h, timeOf, toast } from "./dom.js";

const ENTRIES = 200;

function whoOf(who) {
  if (!who) return "?";
  if (who.user) return `user ${who.user}`;
  if (who.token) return `token ${who.token}`;
  if (who.button) return `desk button ${who.button}`;
  if (who.system) return who.system;
  return "anonymous";
}

function entryItem(entry) {
  const from = entry.from || {};
  const what = entry.target ? `${entry.action} ${entry.target}` : entry.action;
  return h(`li.audit-entry.audit-${entry.result}`, {},
    h("time", {}, timeOf(new Date(entry.at * 1000))),
    h("span.audit-action", {}, what),
    h("span.audit-result", {}, entry.result),
    h("span.audit-who", {}, `${whoOf(entry.who)}${entry.error ? ` — ${entry.error}` : ""}`),
    h("span.audit-from", {}, [from.ip, from.agent].filter(Boolean).join(" · ") || "—"));
}

export async function loadAudit() {
  try {
    const reply = await api.get(`/api/v1/audit?limit=${ENTRIES}`);
    $("audit-list").replaceChildren(...reply.entries.map(entryItem));
  } catch (err) {
    toast(`Audit log: ${err.message}`, "error");
  }
}

export function initAudit() {
  $("tab-audit").addEventListener("click", loadAudit);
  $("audit-refresh").addEventListener("click", loadAudit);
}
