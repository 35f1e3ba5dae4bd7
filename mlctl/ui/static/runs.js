// The runs table: server-side filter (the `run list` language), sort and paging.
import { api, ApiError, badge, clear, errorBox, fmtDuration, fmtTime, fmtValue, h, shortId, replace } from "./util.js";

const PAGE_SIZES = [25, 50, 100, 200];
const REFRESH_MS = 5000;

export async function render(root, _args) {
  const params = new URLSearchParams(location.search);
  const state = {
    experiment: params.get("experiment") || "",
    filter: params.get("filter") || "",
    sort: params.get("sort") || "-start_time",
    offset: Math.max(0, parseInt(params.get("offset") || "0", 10) || 0),
    limit: PAGE_SIZES.includes(parseInt(params.get("limit"), 10)) ? parseInt(params.get("limit"), 10) : 50,
    selected: new Set(), data: null,
  };
  document.title = "Runs · mlctl";
  const view = buildView(state);
  replace(root, view.el);
  await load(state, view);
  loadExperiments(view.experiment, state);  // after the table: counting experiments scans every run
  setInterval(() => {
    if (document.visibilityState === "visible" && state.data && state.data.runs.some((r) => r.status === "running")) {
      load(state, view, { quiet: true });
    }
  }, REFRESH_MS);
}

function buildView(state) {
  const view = {};
  view.input = h("input", { type: "text", class: "query", id: "filter", name: "filter", value: state.filter,
    placeholder: "metrics.acc > 0.9 and params.model == 'rf'", spellcheck: "false", autocomplete: "off",
    "aria-label": "filter runs" });
  view.error = h("div", { id: "filter-error", role: "alert" });
  view.experiment = h("select", { id: "experiment", "aria-label": "experiment",
    onchange: () => { state.experiment = view.experiment.value; state.offset = 0; load(state, view); } },
  h("option", { value: "", text: "All experiments" }));
  const form = h("form", { class: "filter", id: "filter-form", onsubmit: (ev) => {
    ev.preventDefault(); state.filter = view.input.value.trim(); state.offset = 0; load(state, view);
  } },
  h("div", { class: "filter-row" }, view.input, h("button", { type: "submit", class: "primary", id: "apply", text: "Filter" }),
    h("button", { type: "button", id: "clear-filter", text: "Clear", onclick: () => {
      view.input.value = ""; state.filter = ""; state.offset = 0; load(state, view);
    } })),
  view.error,
  h("div", { class: "hint" }, "e.g. ", h("code", { text: "params.model == 'rf' and metrics.acc >= 0.9" }), ", ",
    h("code", { text: "status == 'running'" }), ", ", h("code", { text: "tags.team like 'ml%'" })));
  view.compare = h("button", { id: "compare", disabled: true, text: "Compare", onclick: () => {
    location.href = "/compare?runs=" + [...state.selected].join(",");
  } });
  view.summary = h("div", { class: "muted small", id: "summary" });
  view.table = h("div", { class: "table-wrap", id: "runs-table" });
  view.pager = h("div", { class: "pager" });
  view.el = h("div", {},
    h("div", { class: "page-head" }, h("h1", { text: "Runs" }), h("span", { class: "spacer" }), view.compare),
    h("div", { class: "toolbar" }, view.experiment, form),
    view.summary, view.table, view.pager);
  return view;
}

async function loadExperiments(select, state) {
  try {
    const body = await api("/api/experiments");
    for (const e of body.experiments) {
      select.append(h("option", { value: e.name, text: `${e.name} (${e.runs})` }));
    }
    select.value = state.experiment;
  } catch (e) { /* the table shows API errors; the list is a convenience */ }
}

function syncUrl(state) {
  const q = new URLSearchParams();
  if (state.experiment) q.set("experiment", state.experiment);
  if (state.filter) q.set("filter", state.filter);
  if (state.sort !== "-start_time") q.set("sort", state.sort);
  if (state.offset) q.set("offset", state.offset);
  if (state.limit !== 50) q.set("limit", state.limit);
  const url = location.pathname + (q.toString() ? "?" + q : "");
  history.replaceState(null, "", url);
}

async function load(state, view, { quiet } = {}) {
  if (!quiet) view.table.classList.add("loading");
  try {
    const data = await api("/api/runs", { experiment: state.experiment, filter: state.filter, sort: state.sort,
      limit: state.limit, offset: state.offset });
    state.data = data;
    clear(view.error); view.input.classList.remove("invalid");
    drawTable(state, view, data);
    drawPager(state, view, data);
    syncUrl(state);
    if (!performance.getEntriesByName("runs-rendered").length) performance.mark("runs-rendered");
  } catch (err) {
    if (err instanceof ApiError && err.status === 400 && ["filter", "sort"].includes(err.body.parameter)) {
      showFilterError(view, err, state);
    } else {
      replace(view.table, errorBox(err));
    }
  } finally {
    view.table.classList.remove("loading");
  }
}

function showFilterError(view, err, state) {
  const body = err.body;
  const expr = body.parameter === "sort" ? state.sort : state.filter;
  const caret = body.column ? " ".repeat(Math.max(0, body.column - 1)) + "^".repeat(Math.max(1, (body.token || "").length)) : "";
  replace(view.error, h("div", { class: "filter-error" },
    h("div", { text: body.error }),
    caret ? h("pre", { text: `${expr}\n${caret}` }) : null,
    body.hint ? h("div", { class: "small", text: body.hint }) : null));
  if (body.parameter === "filter") {
    view.input.classList.add("invalid");
    if (body.column) {
      const start = body.column - 1;
      view.input.focus();
      view.input.setSelectionRange(start, start + Math.max(1, (body.token || "").length));
    }
  }
}

function sortKey(state) {
  const desc = state.sort.startsWith("-");
  return { key: state.sort.replace(/^[-+]/, ""), desc };
}

function header(state, view, label, key, cls, title) {
  const { key: current, desc } = sortKey(state);
  const active = current === key;
  const arrow = active ? h("span", { class: "arrow", text: desc ? "▼" : "▲" }) : null;
  return h("th", { class: `sortable ${cls || ""}`, title: title || `sort by ${key}`, "data-key": key,
    "aria-sort": active ? (desc ? "descending" : "ascending") : null,
    onclick: () => {
      state.sort = active && desc ? key : "-" + key;
      state.offset = 0;
      load(state, view);
    } }, label, arrow);
}

function quoteKey(scope, key) {
  return /^[A-Za-z0-9_][A-Za-z0-9_\-./:]*$/.test(key) ? `${scope}.${key}` : `${scope}.\`${key}\``;
}

function drawTable(state, view, data) {
  const cols = data.columns;
  const head = h("tr", {},
    h("th", { class: "select", title: "tick runs to compare" }),
    header(state, view, "Run", "name"), header(state, view, "Status", "status"),
    header(state, view, "Experiment", "experiment", "hide-narrow"),
    header(state, view, "Started", "start_time"), header(state, view, "Duration", "duration", "num hide-narrow"),
    cols.params.map((k) => header(state, view, k, quoteKey("params", k), "keycol", `param ${k}`)),
    cols.metrics.map((k) => header(state, view, k, quoteKey("metrics", k), "keycol num", `metric ${k}`)));
  const rows = data.runs.map((run) => h("tr", { "data-run": run.id },
    h("td", {}, h("input", { type: "checkbox", "aria-label": `select run ${run.id}`, checked: state.selected.has(run.id),
      onchange: (ev) => { ev.target.checked ? state.selected.add(run.id) : state.selected.delete(run.id); updateCompare(state, view); } })),
    h("td", {}, h("a", { href: `/runs/${run.id}` }, run.name ? h("strong", { text: run.name + " " }) : null,
      h("span", { class: run.name ? "muted mono" : "mono", text: shortId(run.id, run.short_id) }))),
    h("td", {}, badge(run.status)),
    h("td", { class: "hide-narrow", text: run.experiment }),
    h("td", { text: fmtTime(run.start_time) }),
    h("td", { class: "num hide-narrow", text: fmtDuration(run.duration) }),
    cols.params.map((k) => h("td", { class: "mono", text: k in run.params ? fmtValue(run.params[k]) : "" })),
    cols.metrics.map((k) => h("td", { class: "num mono", text: k in run.metrics ? fmtValue(run.metrics[k]) : "" }))));
  const groups = h("tr", { class: "groups" }, h("th", { colspan: 6 }),
    cols.params.length ? h("th", { class: "group-params", colspan: cols.params.length, text: "params" }) : null,
    cols.metrics.length ? h("th", { class: "group-metrics num", colspan: cols.metrics.length, text: "metrics" }) : null);
  const table = h("table", { id: "runs" }, h("thead", {}, groups, head), h("tbody", {}, rows));
  replace(view.table, data.runs.length ? table : h("div", { class: "empty", text: data.filter
    ? "No run matches this filter." : "No runs yet. Log one with `mlctl run log` or mlctl.start_run()." }));
  updateCompare(state, view);
}

function updateCompare(state, view) {
  const n = state.selected.size;
  view.compare.disabled = n < 2;
  view.compare.textContent = n ? `Compare ${n} run${n > 1 ? "s" : ""}` : "Compare";
  view.compare.classList.toggle("primary", n >= 2);
}

function drawPager(state, view, data) {
  const first = data.total ? data.offset + 1 : 0;
  const last = data.offset + data.runs.length;
  view.summary.textContent = `${first.toLocaleString()}–${last.toLocaleString()} of ${data.total.toLocaleString()} runs`
    + (data.filter ? " matching the filter" : "");
  const go = (offset) => { state.offset = Math.max(0, offset); load(state, view); };
  const size = h("select", { "aria-label": "runs per page", onchange: (ev) => {
    state.limit = parseInt(ev.target.value, 10); state.offset = 0; load(state, view);
  } }, PAGE_SIZES.map((n) => h("option", { value: n, text: `${n} per page` })));
  size.value = String(state.limit);
  replace(view.pager, 
    h("button", { id: "prev", text: "← Previous", disabled: data.offset === 0, onclick: () => go(data.offset - state.limit) }),
    h("button", { id: "next", text: "Next →", disabled: last >= data.total, onclick: () => go(data.offset + state.limit) }),
    h("span", { class: "muted small", text: `page ${Math.floor(data.offset / state.limit) + 1} of ${Math.max(1, Math.ceil(data.total / state.limit))}` }),
    h("span", { class: "spacer" }), size);
}
