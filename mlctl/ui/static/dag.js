// A layered drawing of a DAG: each stage in the column after its deepest upstream stage,
// edges as curves from the right of one box to the left of the next.
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, parent) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

export function layers(pipeline) {
  const depth = {};
  for (const name of pipeline.order) {  // topological: upstream stages come first
    const stage = pipeline.stages.find((s) => s.name === name);
    depth[name] = Math.max(-1, ...stage.upstream.map((u) => depth[u])) + 1;
  }
  const columns = [];
  for (const name of pipeline.order) (columns[depth[name]] ||= []).push(name);
  return columns;
}

export function drawDag(container, pipeline, status) {
  const columns = layers(pipeline);
  const narrow = (container.clientWidth || 800) < 560;
  const boxW = 150, boxH = 48, gapX = narrow ? 40 : 70, gapY = 22, pad = 12;
  const vertical = narrow;  // on a phone, flow top to bottom
  const pos = {};
  const maxRows = Math.max(...columns.map((c) => c.length));
  columns.forEach((col, i) => col.forEach((name, j) => {
    const offset = (maxRows - col.length) * (vertical ? boxW + gapY : boxH + gapY) / 2;
    pos[name] = vertical
      ? { x: pad + offset + j * (boxW + gapY), y: pad + i * (boxH + gapX) }
      : { x: pad + i * (boxW + gapX), y: pad + offset + j * (boxH + gapY) };
  }));
  const width = vertical ? pad * 2 + maxRows * (boxW + gapY) - gapY : pad * 2 + columns.length * (boxW + gapX) - gapX;
  const height = vertical ? pad * 2 + columns.length * (boxH + gapX) - gapX : pad * 2 + maxRows * (boxH + gapY) - gapY;
  while (container.firstChild) container.removeChild(container.firstChild);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "pipeline DAG" }, container);
  const defs = svg("defs", {}, root);
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }, marker);
  for (const edge of pipeline.edges) {
    const a = pos[edge.from], b = pos[edge.to];
    const d = vertical
      ? `M${a.x + boxW / 2},${a.y + boxH} C${a.x + boxW / 2},${a.y + boxH + gapX / 2} ${b.x + boxW / 2},${b.y - gapX / 2} ${b.x + boxW / 2},${b.y - 2}`
      : `M${a.x + boxW},${a.y + boxH / 2} C${a.x + boxW + gapX / 2},${a.y + boxH / 2} ${b.x - gapX / 2},${b.y + boxH / 2} ${b.x - 2},${b.y + boxH / 2}`;
    svg("path", { class: "dag-edge", d, "marker-end": "url(#arrow)", "data-from": edge.from, "data-to": edge.to }, root);
  }
  for (const name of pipeline.order) {
    const st = status[name];
    const cls = !st ? "unknown" : st.state === "stale" ? "stale" : "fresh";
    const g = svg("g", { class: `dag-node ${cls}`, "data-stage": name, transform: `translate(${pos[name].x},${pos[name].y})` }, root);
    svg("rect", { width: boxW, height: boxH, rx: 8 }, g);
    const label = svg("text", { x: boxW / 2, y: 20, "text-anchor": "middle" }, g);
    label.textContent = name.length > 18 ? name.slice(0, 17) + "…" : name;
    const sub = svg("text", { class: "sub", x: boxW / 2, y: 37, "text-anchor": "middle" }, g);
    sub.textContent = !st ? "status unknown" : st.state === "stale" ? (st.restorable ? "stale · cached" : "stale") : "up to date";
    const title = svg("title", {}, g);
    const stage = pipeline.stages.find((s) => s.name === name);
    const ran = stage && stage.last_ran ? ` (last ran on ${stage.last_ran.executor}${stage.last_ran.node ? ", " + stage.last_ran.node : ""})` : "";
    title.textContent = (st && st.reasons.length ? `${name}: ${st.reasons.map((r) => r.text).join("; ")}` : name) + ran;
  }
}
