// One run: params, metrics and their curves (live while it runs), artifacts, git, data, lineage.
import { lineChart } from "./chart.js";
import { api, badge, clear, errorBox, fmtBytes, fmtDuration, fmtTime, fmtValue, h, kvTable, panel, PALETTE, shortId, replace } from "./util.js";

const LIVE_MS = 2000;

export async function render(root, [ref]) {
  let run;
  try {
    run = await api(`/api/runs/${encodeURIComponent(ref)}`);
  } catch (err) {
    replace(root, h("p", {}, h("a", { href: "/runs", text: "← Runs" })), errorBox(err));
    return;
  }
  document.title = `${run.name || shortId(run.id, run.short_id)} · mlctl`;
  const charts = h("div", { class: "charts", id: "charts" });
  const metricsBox = h("div", { id: "metrics" });
  const head = h("div", { id: "run-head" });
  replace(root, head,
    h("div", { class: "grid" },
      panel("Metrics", metricsBox),
      panel("Params", kvTable(run.params, "no params")),
      h("section", { class: "panel wide" }, h("h2", { text: "Metric curves" }), charts),
      panel("Artifacts", artifacts(run)),
      panel("Source", source(run)),
      panel("Data", dataTable(run.lineage.data)),
      panel("Lineage", lineage(run)),
      panel("Tags", kvTable(run.tags, "no tags")),
      h("section", { class: "panel" }, h("details", {}, h("summary", { text: "Environment" }), kvTable(run.env, "none")))));
  drawHead(head, run);
  drawMetrics(metricsBox, run.metrics, run.metric_points);
  await drawCurves(charts, run.id);
  if (run.status === "running") live(run, head, metricsBox, charts);
}

function drawHead(head, run) {
  const live = run.status === "running" ? h("span", { class: "live-dot", title: "live: refreshing every 2 s" }) : null;
  replace(head, 
    h("p", { class: "small" }, h("a", { href: "/runs", text: "← Runs" })),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, live, run.name || run.id, " ", badge(run.status)),
        h("div", { class: "facts" },
          h("span", { class: "mono", text: run.id }),
          h("span", {}, "experiment ", h("a", { href: `/runs?experiment=${encodeURIComponent(run.experiment)}`, text: run.experiment })),
          h("span", { text: `started ${fmtTime(run.start_time)}` }),
          h("span", { text: `duration ${fmtDuration(run.duration)}` }),
          run.host ? h("span", { text: `host ${run.host}` }) : null,
          run.exit_code !== null && run.exit_code !== undefined ? h("span", { text: `exit code ${run.exit_code}` }) : null))));
}

function drawMetrics(box, metrics, counts) {
  const keys = Object.keys(metrics || {}).sort();
  if (!keys.length) { replace(box, h("p", { class: "muted", text: "no metrics yet" })); return; }
  replace(box, h("table", { class: "kv" }, h("tbody", {}, keys.map((k) => h("tr", { "data-metric": k },
    h("td", { class: "mono", text: k }),
    h("td", { class: "mono num", text: fmtValue(metrics[k]) }),
    h("td", { class: "muted small num", text: counts && counts[k] > 1 ? `${counts[k]} points` : "" }))))));
}

async function drawCurves(box, runId) {
  const body = await api(`/api/runs/${runId}/metrics`);
  const keys = Object.keys(body.curves).filter((k) => body.curves[k].total > 1).sort();
  if (!keys.length) {
    replace(box, h("p", { class: "muted", text: "No metric has more than one point." }));
    return body;
  }
  const existing = new Map([...box.querySelectorAll(".chart")].map((el) => [el.dataset.key, el]));
  if (existing.size === 0) clear(box);
  keys.forEach((key, i) => {
    let card = existing.get(key);
    if (!card) {
      card = h("div", { class: "chart", "data-key": key }, h("h3", { text: key }), h("div", { class: "plot" }),
        h("div", { class: "muted small note" }));
      box.append(card);
    }
    const curve = body.curves[key];
    lineChart(card.querySelector(".plot"), [{ label: key, color: PALETTE[i % PALETTE.length], points: curve.points }],
      { label: `${key} over steps` });
    card.querySelector(".note").textContent = `${curve.total} points` + (curve.downsampled ? `, ${curve.points.length} drawn` : "");
    card.dataset.points = curve.total;
  });
  return body;
}

function live(run, head, metricsBox, charts) {
  const timer = setInterval(async () => {
    try {
      const body = await drawCurves(charts, run.id);
      const counts = Object.fromEntries(Object.entries(body.curves).map(([k, c]) => [k, c.total]));
      drawMetrics(metricsBox, body.metrics, counts);
      if (body.status !== "running") {
        clearInterval(timer);
        const fresh = await api(`/api/runs/${run.id}`);
        drawHead(head, fresh);
      }
    } catch (e) { /* a missed refresh is retried on the next tick */ }
  }, LIVE_MS);
}

function artifacts(run) {
  if (run.artifacts_elsewhere) {
    return h("p", { class: "muted", text: "logged in another clone, not pushed yet (`mlctl run push` there)" });
  }
  if (!run.artifacts.length) return h("p", { class: "muted", text: "no artifacts" });
  const base = `/api/runs/${run.id}/artifacts/`;
  const rows = run.artifacts.map((a) => {
    const href = base + a.path.split("/").map(encodeURIComponent).join("/");
    return h("tr", {},
      h("td", { class: "wrap" }, a.present ? h("a", { href, download: a.path.split("/").pop(), text: a.path })
        : h("span", { text: a.path + " (not in the local store: mlctl run pull)" })),
      h("td", { class: "num", text: fmtBytes(a.size) }),
      h("td", { class: "mono muted", title: a.hash, text: a.hash.slice(0, 10) }));
  });
  const images = run.artifacts.filter((a) => a.present && a.type.startsWith("image/") && a.inline).slice(0, 4);
  return h("div", {},
    h("div", { class: "table-wrap" }, h("table", { id: "artifacts" }, h("thead", {}, h("tr", {}, h("th", { text: "path" }),
      h("th", { class: "num", text: "size" }), h("th", { text: "hash" }))), h("tbody", {}, rows))),
    images.map((a) => h("img", { class: "preview", alt: a.path, src: `${base}${a.path.split("/").map(encodeURIComponent).join("/")}?inline=1` })),
    h("p", { class: "hint", text: "Downloads are verified against their xxh3-128 hash before they are sent." }));
}

function source(run) {
  const git = run.git || {};
  return h("table", { class: "kv" }, h("tbody", {},
    h("tr", {}, h("td", { text: "git commit" }), h("td", { class: "mono", text: git.commit || "— (no commit recorded)" })),
    h("tr", {}, h("td", { text: "working tree" }), h("td", {}, git.dirty === null || git.dirty === undefined ? "—"
      : git.dirty ? badge("dirty", "failed") : badge("clean", "ok"))),
    h("tr", {}, h("td", { text: "command" }), h("td", { class: "mono", text: run.command || "—" }))));
}

function dataTable(data) {
  if (!data.length) return h("p", { class: "muted", text: "no tracked data recorded" });
  return h("table", { class: "kv", id: "data" }, h("tbody", {}, data.map((d) =>
    h("tr", {}, h("td", { class: "mono", text: d.path }), h("td", { class: "mono", title: d.hash, text: d.hash }),
      h("td", { class: "validation" }, validationOf(d))))));
}

// The data version's last recorded validation, linked to its page; or a link to look.
function validationOf(d) {
  const v = d.validation;
  if (!v) return h("a", { class: "small muted", href: `/validations?hash=${encodeURIComponent(d.hash)}`, text: "not validated" });
  return h("a", { href: `/validations/${encodeURIComponent(v.id)}`, title: `last validation ${v.time}, suite ${v.suite}` },
    v.success ? badge("validated", "ok") : badge(`validation failed (${v.failed})`, "failed"));
}

function lineage(run) {
  const l = run.lineage;
  const items = [];
  for (const d of l.data) items.push(h("li", {}, "read ", h("code", { text: d.path }), " @ ", h("code", { text: d.hash.slice(0, 10) })));
  for (const o of l.outputs || []) items.push(h("li", {}, "wrote ", h("code", { text: o.path }), " @ ", h("code", { text: o.hash.slice(0, 10) })));
  if (l.parent) items.push(h("li", {}, "part of run ", h("a", { href: `/runs/${l.parent}`, class: "mono", text: shortId(l.parent, l.parent_short_id) })));
  for (const c of l.children) items.push(h("li", {}, "child run ", h("a", { href: `/runs/${c.id}`, class: "mono", text: c.name || shortId(c.id, c.short_id) }), " ", badge(c.status)));
  for (const m of l.models || []) {
    items.push(h("li", {}, "registered as ", h("a", { href: `/models/${encodeURIComponent(m.name)}`, text: `${m.name}:${m.version}` }),
      " ", (m.aliases || []).map((a) => badge(a, "alias"))));
  }
  if (!items.length) return h("p", { class: "muted", text: "no recorded lineage" });
  return h("ul", { id: "lineage" }, items);
}
