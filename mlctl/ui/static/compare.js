// Compare runs: params, metrics and tags side by side (differences marked), curves overlaid.
import { lineChart } from "./chart.js";
import { api, badge, errorBox, fmtValue, h, PALETTE, shortId, replace } from "./util.js";

export async function render(root) {
  const refs = new URLSearchParams(location.search).get("runs") || "";
  let data;
  try {
    data = await api("/api/compare", { runs: refs });
  } catch (err) {
    replace(root, h("p", {}, h("a", { href: "/runs", text: "← Runs" })), errorBox(err));
    return;
  }
  document.title = `Compare ${data.runs.length} runs · mlctl`;
  const colors = data.runs.map((_, i) => PALETTE[i % PALETTE.length]);
  const onlyDiff = h("input", { type: "checkbox", id: "only-diff" });
  const tables = h("div", {});
  const draw = () => replace(tables, 
    section("Params", "params", data.params, data.runs, colors, onlyDiff.checked),
    section("Metrics", "metrics", data.metrics, data.runs, colors, onlyDiff.checked),
    data.tags.length ? section("Tags", "tags", data.tags, data.runs, colors, onlyDiff.checked) : null);
  onlyDiff.addEventListener("change", draw);
  const charts = h("div", { class: "charts", id: "curves" });
  replace(root, 
    h("p", { class: "small" }, h("a", { href: "/runs", text: "← Runs" })),
    h("div", { class: "page-head" }, h("h1", { text: `Comparing ${data.runs.length} runs` }), h("span", { class: "spacer" }),
      h("label", { class: "small" }, onlyDiff, " only differences")),
    tables,
    h("section", { class: "panel", id: "curves-panel" }, h("h2", { text: "Metric curves" }), legend(data.runs, colors), charts));
  draw();
  drawCurves(charts, data, colors);
}

function runLabel(run) { return run.name || shortId(run.id, run.short_id); }

function legend(runs, colors) {
  return h("div", { class: "legend" }, runs.map((r, i) => h("span", {}, h("span", { class: "swatch", bg: colors[i] }), runLabel(r))));
}

function section(title, id, rows, runs, colors, onlyDiff) {
  const shown = onlyDiff ? rows.filter((r) => r.different) : rows;
  const differing = rows.filter((r) => r.different).length;
  const head = h("tr", {}, h("th", { text: title === "Params" ? "param" : title === "Metrics" ? "metric" : "tag" }),
    runs.map((r, i) => h("th", {}, h("span", { class: "swatch", bg: colors[i] }),
      h("a", { href: `/runs/${r.id}`, text: runLabel(r) }), " ", badge(r.status))));
  const body = shown.map((row) => h("tr", { class: row.different ? "diff" : "", "data-key": row.key },
    h("td", { class: "mono", text: row.key }),
    row.values.map((v, i) => row.present[i] ? h("td", { class: "mono", text: fmtValue(v) })
      : h("td", { class: "missing", text: "absent" }))));
  return h("section", { class: "panel", id: `compare-${id}` },
    h("h2", {}, title, " ", h("span", { class: "muted small", text: `${differing} of ${rows.length} differ` })),
    rows.length ? h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)))
      : h("p", { class: "muted", text: `no ${title.toLowerCase()}` }));
}

function drawCurves(box, data, colors) {
  const keys = Object.keys(data.curves).filter((k) => Object.values(data.curves[k]).some((c) => c.total > 1)).sort();
  if (!keys.length) { box.append(h("p", { class: "muted", text: "No metric has more than one point in these runs." })); return; }
  for (const key of keys) {
    const plot = h("div", { class: "plot" });
    box.append(h("div", { class: "chart", "data-key": key }, h("h3", { text: key }), plot));
    const series = data.runs.map((r, i) => ({ label: runLabel(r), color: colors[i], points: (data.curves[key][r.id] || { points: [] }).points }));
    lineChart(plot, series, { label: `${key} of ${data.runs.length} runs` });
  }
}
