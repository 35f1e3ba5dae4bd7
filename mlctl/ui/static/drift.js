// Drift checks: verdicts, drifted columns, and each check's HTML report.
import { api, badge, errorBox, fmtTime, h, replace } from "./util.js";

export async function render(root, [checkId]) {
  if (checkId) return renderCheck(root, checkId);
  document.title = "Drift · mlctl";
  let data;
  try {
    data = await api("/api/drift", { limit: 200 });
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  const rows = data.checks.map((c) => h("tr", { "data-check": c.id },
    h("td", { text: fmtTime(c.time) }),
    h("td", {}, c.dataset_drift ? badge("drift", "drift") : badge("no drift", "ok")),
    h("td", { text: c.model || "—" }),
    h("td", { class: "num", text: `${c.number_of_drifted_columns} / ${c.number_of_columns}` }),
    h("td", { class: "wrap mono small", text: c.drifted_columns.join(", ") || "—" }),
    h("td", { class: "wrap small hide-narrow" }, h("div", { text: `ref ${shortPath(c.reference)}` }), h("div", { text: `cur ${shortPath(c.current)}` })),
    h("td", {}, c.report ? h("a", { href: `/drift/${encodeURIComponent(c.id)}`, class: "open-report", text: "open report" })
      : h("span", { class: "muted", text: "no report" }))));
  replace(root, 
    h("div", { class: "page-head" }, h("h1", { text: "Drift checks" })),
    data.checks.length ? h("div", { class: "table-wrap" }, h("table", { id: "checks" },
      h("thead", {}, h("tr", {}, ["checked", "verdict", "model", "drifted", "columns"].map((t) => h("th", { text: t })),
        h("th", { class: "hide-narrow", text: "data" }), h("th", { text: "report" }))),
      h("tbody", {}, rows)))
      : h("div", { class: "empty", text: "No drift check recorded yet. Run `mlctl monitor drift --reference ... --current ...`." }));
}

function shortPath(p) {
  return p && p.length > 48 ? "…" + p.slice(-47) : p || "—";
}

async function renderCheck(root, id) {
  document.title = "Drift report · mlctl";
  let c;
  try {
    c = await api(`/api/drift/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(root, h("p", { class: "small" }, h("a", { href: "/drift", text: "← Drift checks" })), errorBox(err));
    return;
  }
  const reportUrl = `/api/drift/${encodeURIComponent(c.id)}/report`;
  replace(root, 
    h("p", { class: "small" }, h("a", { href: "/drift", text: "← Drift checks" })),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, c.dataset_drift ? badge("drift", "drift") : badge("no drift", "ok"), " ", c.model || "drift check"),
        h("div", { class: "facts" }, h("span", { text: fmtTime(c.time) }),
          h("span", { text: `${c.number_of_drifted_columns} of ${c.number_of_columns} columns drifted (threshold share ${c.drift_share})` }),
          h("span", { class: "mono", text: c.id }))),
      h("span", { class: "spacer" }),
      c.report ? h("a", { class: "button", href: reportUrl, target: "_blank", rel: "noopener", text: "Open in a new tab" }) : null),
    c.report ? h("iframe", { class: "report", id: "report", src: reportUrl, title: "drift report",
      onload: (ev) => { ev.target.dataset.loaded = "1"; } })
      : h("div", { class: "empty", text: "This check wrote no HTML report (use --report FILE.html)." }));
}
