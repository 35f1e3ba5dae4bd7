// The pipeline DAG, drawn as SVG in layers, with stale stages marked and why.
import { api, badge, errorBox, h, replace } from "./util.js";
import { drawDag } from "./dag.js";

export async function render(root) {
  document.title = "Pipeline · mlctl";
  let data;
  try {
    data = await api("/api/pipeline");
  } catch (err) {
    replace(root, h("div", { class: "page-head" }, h("h1", { text: "Pipeline" })), errorBox(err));
    return;
  }
  const status = {};
  for (const s of (data.status && data.status.stages) || []) status[s.stage] = s;
  const stale = Object.values(status).filter((s) => s.state === "stale").length;
  const summary = data.status ? (stale ? badge(`${stale} stale`, "stale") : badge("up to date", "fresh"))
    : badge("status unknown", "alias");
  const dag = h("div", { class: "dag-wrap", id: "dag" });
  replace(root, 
    h("div", { class: "page-head" }, h("h1", {}, "Pipeline ", summary)),
    data.status_error ? h("div", { class: "error" }, h("strong", { text: data.status_error.error }),
      data.status_error.hint ? h("div", { class: "small", text: "hint: " + data.status_error.hint }) : null) : null,
    h("section", { class: "panel" }, dag,
      h("div", { class: "legend" }, h("span", {}, h("span", { class: "swatch", bg: "#1e7d3a" }), "up to date"),
        h("span", {}, h("span", { class: "swatch", bg: "#b3261e" }), "stale"))),
    h("section", { class: "panel", id: "stages" }, h("h2", { text: "Stages" }), stageTable(data.pipeline, status)));
  drawDag(dag, data.pipeline, status);
}

function stageTable(pipeline, status) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["stage", "state", "why", "ran on", "command"].map((t) => h("th", { text: t })),
      ["deps", "outs"].map((t) => h("th", { class: "hide-narrow", text: t })))),
    h("tbody", {}, pipeline.stages.map((s) => {
      const st = status[s.name];
      const state = !st ? badge("unknown", "alias") : st.state === "stale"
        ? badge(st.restorable ? "stale (cached)" : "stale", "stale") : badge("up to date", "fresh");
      return h("tr", { "data-stage": s.name, class: st && st.state === "stale" ? "stale" : "" },
        h("td", {}, h("strong", { text: s.name })),
        h("td", {}, state),
        h("td", { class: "wrap small" }, st ? st.reasons.map((r) => h("div", { text: r.text })) : null),
        h("td", { class: "wrap small ran-on" }, ranOn(s.last_ran)),
        h("td", { class: "wrap mono small", text: s.cmd }),
        h("td", { class: "wrap mono small hide-narrow", text: s.deps.join(", ") }),
        h("td", { class: "wrap mono small hide-narrow", text: [...s.outs, ...s.metrics].join(", ") }));
    }))));
}

// Where the stage's command last ran (executor, node, attempts, when), or a dash.
export function ranOn(last) {
  if (!last) return h("span", { class: "muted", text: "—" });
  const retries = last.attempts > 1 ? ` · ${last.attempts} attempts` : "";
  return h("span", { title: `${last.outcome} ${last.finished || ""}`.trim() },
    h("strong", { text: last.executor }), last.node ? h("div", { class: "mono", text: last.node + retries })
      : retries ? h("div", { text: retries.slice(3) }) : null);
}
