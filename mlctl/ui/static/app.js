// The router: every page URL serves the same shell; this picks the page module by path.
import { api, h, replace } from "./util.js";

const ROUTES = [
  [/^\/runs\/?$/, "runs", () => import("./runs.js")],
  [/^\/runs\/([^/]+)\/?$/, "runs", () => import("./run.js")],
  [/^\/compare\/?$/, "runs", () => import("./compare.js")],
  [/^\/models\/?$/, "models", () => import("./models.js")],
  [/^\/models\/([^/]+)\/?$/, "models", () => import("./model.js")],
  [/^\/drift\/?$/, "drift", () => import("./drift.js")],
  [/^\/drift\/([^/]+)\/?$/, "drift", () => import("./drift.js")],
  [/^\/pipeline\/?$/, "pipeline", () => import("./pipeline.js")],
  [/^\/validations\/?$/, "validations", () => import("./validations.js")],
  [/^\/validations\/([^/]+)\/?$/, "validations", () => import("./validations.js")],
];

async function showComponents() {
  try {
    const health = await api("/api/health");
    for (const link of document.querySelectorAll("nav a[data-component]")) {
      if (!health.components[link.dataset.component]) link.classList.add("hidden");
    }
    return health;
  } catch (e) {
    return null;
  }
}

async function main() {
  const root = document.getElementById("app");
  const health = showComponents();
  if (document.body.dataset.status === "404") {
    replace(root, h("div", { class: "empty" }, h("h1", { text: "Page not found" }),
      h("p", {}, "There is no page at ", h("code", { text: location.pathname }), ". ",
        h("a", { href: "/runs", text: "Back to the runs" }))));
    return;
  }
  for (const [pattern, section, load] of ROUTES) {
    const match = location.pathname.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.section === section);
    const module = await load();
    const args = match.slice(1).map(decodeURIComponent);
    await module.render(root, args, await health);
    document.body.dataset.ready = "1";
    return;
  }
}

main().catch((err) => {
  const root = document.getElementById("app");
  replace(root, h("div", { class: "error", text: "The page failed: " + err.message }));
  document.body.dataset.ready = "1";
});
