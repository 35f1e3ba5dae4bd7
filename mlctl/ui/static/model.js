// One model: aliases, versions, the history of alias moves (with reasons and gates), deployments.
import { api, badge, errorBox, fmtBytes, fmtTime, fmtValue, h, shortId, replace } from "./util.js";
import { pendingPanel } from "./models.js";

export async function render(root, [name]) {
  document.title = `${name} · Models · mlctl`;
  let m;
  try {
    m = await api(`/api/models/${encodeURIComponent(name)}`);
  } catch (err) {
    replace(root, h("p", { class: "small" }, h("a", { href: "/models", text: "← Models" })), errorBox(err));
    return;
  }
  replace(root, 
    h("p", { class: "small" }, h("a", { href: "/models", text: "← Models" })),
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: m.name }),
      h("div", { class: "facts" }, h("span", { text: `${m.versions.length} versions` }),
        Object.entries(m.aliases).sort().map(([a, v]) => badge(`${a} → v${v}`, "alias"))))),
    pendingPanel(m.pending_approvals || []),
    h("div", { class: "grid" },
      h("section", { class: "panel wide", id: "versions" }, h("h2", { text: "Versions" }), versions(m)),
      h("section", { class: "panel wide", id: "history" }, h("h2", { text: "Alias history" }), history(m.history)),
      h("section", { class: "panel wide", id: "deployments" }, h("h2", { text: "Deployments" }), deployments(m.deployments))));
}

function metricsText(metrics) {
  return Object.entries(metrics || {}).sort().slice(0, 4).map(([k, v]) => `${k}=${fmtValue(v)}`).join("  ");
}

function versions(m) {
  const rows = m.versions.map((v) => h("tr", { "data-version": v.version },
    h("td", {}, h("strong", { text: `v${v.version}` })),
    h("td", { class: "wrap" }, v.aliases.map((a) => badge(a, "alias"))),
    h("td", {}, v.run_id ? h("a", { href: `/runs/${v.run_id}`, class: "mono", text: shortId(v.run_id, v.run_short_id) }) : "—"),
    h("td", { class: "mono small wrap", text: metricsText(v.metrics) }),
    h("td", { text: fmtTime(v.created) }),
    h("td", { class: "wrap" }, v.flavor, v.model_class ? h("div", { class: "muted small", text: v.model_class.split(".").pop() }) : null),
    h("td", { class: "num hide-narrow", text: fmtBytes(v.artifact && v.artifact.size) }),
    h("td", { class: "mono muted hide-narrow", title: v.artifact_hash, text: (v.artifact_hash || "").slice(0, 10) })));
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["version", "aliases", "run", "metrics", "registered", "flavor"].map((t) => h("th", { text: t })),
      h("th", { class: "num hide-narrow", text: "size" }), h("th", { class: "hide-narrow", text: "artifact" }))),
    h("tbody", {}, rows)));
}

function gates(list) {
  if (!list || !list.length) return null;
  return h("div", { class: "small" }, list.map((g) => h("div", {},
    badge(g.passed ? "pass" : "fail", g.passed ? "ok" : "failed"), " ",
    h("code", { text: g.gate || `${g.metric}${g.op}${g.limit}` }),
    g.value !== undefined && g.value !== null ? h("span", { class: "muted", text: ` (was ${fmtValue(g.value)})` }) : null)));
}

function history(entries) {
  if (!entries.length) return h("p", { class: "muted", text: "No alias has moved yet." });
  const move = (e) => {
    if (e.moved === false) return h("span", { class: "muted", text: "no move" });
    const from = e.from === null || e.from === undefined ? "—" : `v${e.from}`;
    const to = e.to === null || e.to === undefined ? "—" : `v${e.to}`;
    return h("span", { class: "mono", text: `${from} → ${to}` });
  };
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["action", "alias", "move", "reason and gates", "when", "by"].map((t) => h("th", { text: t })))),
    h("tbody", {}, entries.map((e) => h("tr", { "data-seq": e.seq },
      h("td", {}, badge(e.action, e.action === "rollback" ? "failed" : e.action === "promote" ? "ok" : "alias")),
      h("td", { text: e.alias || "—" }),
      h("td", {}, move(e)),
      h("td", { class: "wrap" }, e.reason ? h("div", { text: e.reason }) : h("div", { class: "muted", text: "no reason given" }), gates(e.gates)),
      h("td", { text: fmtTime(e.time) }),
      h("td", { class: "muted small", text: e.actor || e.user || "" }))))));
}

function deployments(list) {
  if (!list.length) return h("p", { class: "muted", text: "Not deployed. `mlctl serve NAME` records itself here while it runs." });
  const state = (d) => d.stale === true ? badge("stopped", "failed") : d.stale === false ? badge("running", "ok")
    : badge(`on ${d.hostname}`, "alias");
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["where", "version", "alias", "state", "started", "process"].map((t) => h("th", { text: t })))),
    h("tbody", {}, list.map((d) => h("tr", {},
      h("td", { class: "mono", text: `${d.host}:${d.port}` }),
      h("td", { text: `v${d.version}` }),
      h("td", { text: d.alias || "—" }),
      h("td", {}, state(d)),
      h("td", { text: fmtTime(d.started) }),
      h("td", { class: "muted small", text: `pid ${d.pid} on ${d.hostname}` }))))));
}
