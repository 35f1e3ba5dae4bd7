// Shared helpers: building DOM safely (never innerHTML with data), the API client, formats.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "bg") el.style.background = value;
    else if (key === "checked" || key === "disabled" || key === "value") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
  }
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// Strict JSON carries non-finite numbers as the strings "NaN", "Infinity", "-Infinity".
export function toNumber(v) {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return null;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  const n = toNumber(v);
  if (n !== null && typeof v !== "boolean") return fmtNumber(n);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function fmtNumber(n) {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "−∞";
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return n.toExponential(3);
  return String(Number(n.toPrecision(5)));
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Number(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

// The server abbreviates ids (the shortest prefix unique among all runs, like git's hashes:
// mlctl/shortid.py); without one, the full id, which is always unique.
export function shortId(id, short) { return short || id || ""; }

export function badge(text, kind) { return h("span", { class: `badge ${kind || text}`, text }); }

export function errorBox(err) {
  const hint = err.body && err.body.hint ? h("div", { class: "small", text: "hint: " + err.body.hint }) : null;
  return h("div", { class: "error", role: "alert" }, h("strong", { text: err.message }), hint);
}

export function kvTable(obj, empty) {
  const keys = Object.keys(obj || {}).sort();
  if (!keys.length) return h("p", { class: "muted", text: empty || "none" });
  return h("table", { class: "kv" }, h("tbody", {}, keys.map((k) =>
    h("tr", {}, h("td", { class: "mono", text: k }), h("td", { class: "mono", text: fmtValue(obj[k]) })))));
}

export function panel(title, ...children) {
  return h("section", { class: "panel" }, title ? h("h2", { text: title }) : null, ...children);
}

export const PALETTE = ["#2457c5", "#d9480f", "#2b8a3e", "#ae3ec9", "#e67700", "#0c8599", "#c2255c",
  "#5c940d", "#364fc7", "#862e9c"];

// Empty ``el`` and fill it with ``children`` (null/false children are skipped).
export function replace(el, ...children) { clear(el); return append(el, children); }
