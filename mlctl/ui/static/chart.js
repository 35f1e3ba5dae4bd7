// Line charts as inline SVG: axes with round ticks, one path per series, a hover readout.
// Drawn at the container's real width and redrawn when it changes, so text stays legible
// from a phone to a wide screen.
import { fmtNumber, toNumber } from "./util.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, parent) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

export function niceTicks(lo, hi, count, minStep = 0) {
  if (!(hi > lo)) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
  const raw = Math.max(minStep, (hi - lo) / Math.max(1, count));
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const start = Math.floor(lo / step) * step;
  const ticks = [];
  for (let v = start; v <= hi + step * 0.5 && ticks.length < 50; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

// series: [{label, color, points: [[step, value], ...]}]
export function lineChart(container, series, options = {}) {
  const draw = () => render(container, series, options);
  draw();
  if (window.ResizeObserver && !container._observed) {
    let last = container.clientWidth;
    new ResizeObserver(() => {
      if (Math.abs(container.clientWidth - last) > 4) { last = container.clientWidth; render(container, container._series, container._options); }
    }).observe(container);
    container._observed = true;
  }
  container._series = series;
  container._options = options;
}

function finitePoints(points) {
  const out = [];
  for (const p of points) {
    const x = Number(p[0]), y = toNumber(p[1]);
    if (Number.isFinite(x) && y !== null && Number.isFinite(y)) out.push([x, y]);
  }
  return out;
}

function render(container, series, options) {
  const width = Math.max(240, container.clientWidth || 480);
  const height = options.height || Math.round(Math.min(260, Math.max(170, width * 0.45)));
  const m = { left: 52, right: 14, top: 12, bottom: 30 };
  const data = series.map((s) => ({ ...s, pts: finitePoints(s.points) }));
  const all = data.flatMap((s) => s.pts);
  while (container.firstChild) container.removeChild(container.firstChild);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": options.label || "metric chart" }, container);
  if (!all.length) {
    svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, root).textContent = "no finite points";
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const yt = niceTicks(y0, y1, height > 200 ? 5 : 4);
  y0 = Math.min(y0, yt[0]); y1 = Math.max(y1, yt[yt.length - 1]);
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  // steps are whole numbers: never a tick at step 2.5
  const xt = niceTicks(x0, x1, Math.max(2, Math.floor(width / 90)), 1).filter((v) => v >= x0 && v <= x1);
  const sx = (x) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const sy = (y) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  for (const t of yt) {
    svg("line", { class: "grid-line", x1: m.left, x2: width - m.right, y1: sy(t), y2: sy(t) }, root);
    svg("text", { x: m.left - 6, y: sy(t) + 4, "text-anchor": "end" }, root).textContent = fmtNumber(t);
  }
  for (const t of xt) {
    svg("text", { x: sx(t), y: height - m.bottom + 16, "text-anchor": "middle" }, root).textContent = fmtNumber(t);
  }
  svg("line", { class: "axis", x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }, root);
  svg("text", { x: width - m.right, y: height - 4, "text-anchor": "end" }, root).textContent = options.xLabel || "step";
  for (const s of data) {
    if (!s.pts.length) continue;
    const d = s.pts.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
    svg("path", { class: "series", d, stroke: s.color, "data-label": s.label, "data-points": s.pts.length }, root);
    if (s.pts.length === 1) svg("circle", { cx: sx(s.pts[0][0]), cy: sy(s.pts[0][1]), r: 3, fill: s.color }, root);
  }
  addReadout(root, data, { sx, sy, x0, x1, m, width, height });
}

function nearest(pts, x) {
  let lo = 0, hi = pts.length - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (pts[mid][0] < x) lo = mid + 1; else hi = mid; }
  if (lo > 0 && Math.abs(pts[lo - 1][0] - x) < Math.abs(pts[lo][0] - x)) lo--;
  return pts[lo];
}

function addReadout(root, data, g) {
  const cursor = svg("line", { class: "cursor", y1: g.m.top, y2: g.height - g.m.bottom, visibility: "hidden" }, root);
  const label = svg("text", { class: "readout", y: g.m.top + 10, visibility: "hidden" }, root);
  root.addEventListener("mousemove", (ev) => {
    const box = root.getBoundingClientRect();
    const px = ev.clientX - box.left;
    const x = g.x0 + ((px - g.m.left) / (g.width - g.m.left - g.m.right)) * (g.x1 - g.x0);
    const parts = data.filter((s) => s.pts.length).map((s) => {
      const p = nearest(s.pts, x);
      return `${data.length > 1 ? s.label + ": " : ""}${fmtNumber(p[1])}`;
    });
    const step = Math.round(x);
    cursor.setAttribute("x1", px); cursor.setAttribute("x2", px); cursor.setAttribute("visibility", "visible");
    label.textContent = `step ${step}  ` + parts.slice(0, 4).join("  ");
    const right = px > g.width / 2;
    label.setAttribute("x", right ? px - 6 : px + 6);
    label.setAttribute("text-anchor", right ? "end" : "start");
    label.setAttribute("visibility", "visible");
  });
  root.addEventListener("mouseleave", () => {
    cursor.setAttribute("visibility", "hidden"); label.setAttribute("visibility", "hidden");
  });
}
