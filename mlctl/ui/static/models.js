// Every registered model: versions, where its aliases point, live deployments.
import { api, badge, errorBox, fmtTime, h, replace } from "./util.js";

export async function render(root) {
  document.title = "Models · mlctl";
  let data;
  try {
    data = await api("/api/models");
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  const rows = data.models.map((m) => h("tr", { "data-model": m.name },
    h("td", {}, h("a", { href: `/models/${encodeURIComponent(m.name)}` }, h("strong", { text: m.name }))),
    h("td", { class: "num", text: m.versions }),
    h("td", { class: "num", text: m.latest }),
    h("td", { class: "wrap" }, Object.entries(m.aliases).sort().map(([a, v]) => badge(`${a} → v${v}`, "alias"))),
    h("td", { class: "num", text: m.live_deployments }),
    h("td", { class: "hide-narrow", text: fmtTime(m.updated) })));
  replace(root, 
    h("div", { class: "page-head" }, h("h1", { text: "Models" })),
    pendingPanel(data.pending_approvals || []),
    data.models.length ? h("div", { class: "table-wrap" }, h("table", { id: "models" },
      h("thead", {}, h("tr", {}, h("th", { text: "model" }), h("th", { class: "num", text: "versions" }),
        h("th", { class: "num", text: "latest" }), h("th", { text: "aliases" }), h("th", { class: "num", text: "serving" }),
        h("th", { class: "hide-narrow", text: "last registered" }))),
      h("tbody", {}, rows)))
      : h("div", { class: "empty", text: "No models yet. Register one with `mlctl model register NAME PATH`." }));
}

// Retrained candidates waiting for a person (`approval: required` in retrain.yaml).
export function pendingPanel(items) {
  if (!items.length) return null;
  return h("section", { class: "panel wide", id: "pending" }, h("h2", { text: "Awaiting approval" }),
    h("ul", {}, items.map((p) => h("li", { "data-spec": p.spec },
      h("a", { href: `/models/${encodeURIComponent(p.model)}` }, h("strong", { text: p.spec })),
      ` since ${fmtTime(p.since)}` + (p.production ? ` (production v${p.production})` : "") + " ",
      h("code", { text: `mlctl model approve ${p.spec}` }), " or ",
      h("code", { text: `mlctl model reject ${p.spec} --reason ...` })))));
}
