// Validations: recorded `mlctl data validate` results (and the gates'), newest first, and one
// validation's every expectation with its observed value, failing count and sample.
import { api, badge, errorBox, fmtNumber, fmtTime, fmtValue, h, panel, replace } from "./util.js";

export async function render(root, [validationId]) {
  if (validationId) return renderOne(root, validationId);
  document.title = "Validations · mlctl";
  const hash = new URLSearchParams(location.search).get("hash");
  let data;
  try {
    data = await api("/api/validations", { limit: 200, hash });
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  const rows = data.validations.map((v) => h("tr", { "data-validation": v.id },
    h("td", {}, h("a", { href: `/validations/${encodeURIComponent(v.id)}`, text: fmtTime(v.time) })),
    h("td", {}, verdict(v)),
    h("td", { class: "wrap mono small", text: v.targets.join(", ") }),
    h("td", { class: "num", text: `${v.failed} / ${v.expectations}` }),
    h("td", { class: "wrap small failing", text: v.failed_expectations.join("; ") || "—" }),
    h("td", { class: "mono small hide-narrow", text: v.suite })));
  replace(root,
    h("div", { class: "page-head" }, h("h1", { text: "Validations" })),
    hash ? h("p", { class: "small" }, "Validations of data version ", h("code", { text: hash.slice(0, 12) }), " · ",
      h("a", { href: "/validations", text: "all validations" })) : null,
    data.validations.length ? h("div", { class: "table-wrap" }, h("table", { id: "validations" },
      h("thead", {}, h("tr", {}, ["validated", "verdict", "data", "failed", "failing expectations"].map((t) => h("th", { text: t })),
        h("th", { class: "hide-narrow", text: "suite" }))),
      h("tbody", {}, rows)))
      : h("div", { class: "empty", text: hash ? "No recorded validation read this data version."
        : "No validation recorded yet. Run `mlctl data validate`." }));
}

function verdict(v) {
  return v.success ? badge("passed", "ok") : badge("failed", "failed");
}

async function renderOne(root, id) {
  document.title = "Validation · mlctl";
  const back = h("p", { class: "small" }, h("a", { href: "/validations", text: "← Validations" }));
  let v;
  try {
    v = await api(`/api/validations/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(root, back, errorBox(err));
    return;
  }
  const versions = v.data || [];
  replace(root, back,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, verdict(v), " ", v.suite),
        h("div", { class: "facts" }, h("span", { text: fmtTime(v.time) }),
          h("span", { text: `${v.failed} failed, ${v.warned} warned of ${v.expectations}` }),
          h("span", { class: "mono", text: v.id })))),
    (v.result.datasets || []).map((d, i) => dataset(d, versions[i])));
}

function dataset(d, version) {
  const where = d.rev ? `${d.target} @ ${d.rev}` : d.target;
  const facts = [`${d.rows} rows`, `${d.files.length} file${d.files.length === 1 ? "" : "s"}`];
  if (version && version.hash) facts.push(`version ${version.hash.slice(0, 12)} (${version.state})`);
  return panel(where, h("p", { class: "small muted", text: facts.join(" · ") }),
    h("div", { class: "table-wrap" }, h("table", { class: "expectations" },
      h("thead", {}, h("tr", {}, ["expectation", "severity", "result", "observed", "failing", "sample"].map((t) => h("th", { text: t })))),
      h("tbody", {}, d.expectations.map(expectationRow)))));
}

function expectationRow(e) {
  const result = e.success ? badge("ok", "ok") : badge(e.severity === "warn" ? "warn" : "failed", e.severity === "warn" ? "running" : "failed");
  const failing = e.unexpected_count === null ? "—"
    : `${e.unexpected_count} of ${e.element_count}` + (e.unexpected_percent === null ? "" : ` (${fmtNumber(Number(e.unexpected_percent))}%)`);
  return h("tr", { "data-expectation": e.name, class: e.success ? null : e.severity === "warn" ? "warned" : "failing" },
    h("td", {}, h("div", { text: e.name }), h("div", { class: "small muted mono", text: e.expect })),
    h("td", { text: e.severity }),
    h("td", {}, result),
    h("td", { class: "wrap mono small" }, e.problem ? h("span", { class: "muted", text: e.problem }) : fmtValue(e.observed)),
    h("td", { class: "num", text: failing }),
    h("td", { class: "wrap mono small", text: e.sample.length ? e.sample.map(sampleText).join("; ") : "—" }));
}

function sampleText(s) {
  return `row ${s.row}: ` + ("values" in s ? fmtValue(s.values) : fmtValue(s.value));
}
