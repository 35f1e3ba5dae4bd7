"""The report's stylesheet and the one-line explanation of each method."""

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2328;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 14px}
h2{font-size:18px;margin:28px 0 10px}
h3{font-size:15px;margin:0;word-break:break-all}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef0f3;padding:1px 4px;border-radius:4px}
.verdict{border-radius:10px;padding:16px 20px;color:#fff}
.verdict .big{font-size:22px;font-weight:700;margin-bottom:2px}
.verdict.drift{background:#c0392b}
.verdict.ok{background:#1e8449}
.meta{display:flex;flex-wrap:wrap;gap:6px 22px;margin:12px 2px 6px;color:#444}
.callout{margin:10px 0;padding:10px 14px;border-radius:8px;background:#fff;border-left:5px solid #999}
.callout.bad{border-color:#c0392b}.callout.good{border-color:#1e8449}.callout.warn{border-color:#d68910}
table{border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid #eceef1;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
table.summary{width:100%}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.drifted td:first-child{border-left:4px solid #c0392b}
a{color:#1a5fb4;text-decoration:none}a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.bad{background:#c0392b}.badge.good{background:#1e8449}
.role{font-size:12px;font-weight:600;color:#6a3d9a;background:#efe7f7;padding:1px 6px;border-radius:6px;margin-left:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:16px}
.card{background:#fff;border-radius:10px;padding:14px 14px 10px;border:1px solid #e3e6ea}
.card.drifted{border-top:4px solid #c0392b}
.card header{display:flex;justify-content:space-between;align-items:center;gap:10px}
.card .stat{color:#444;margin:4px 0 8px;font-size:13px}
.card .chart svg{display:block;max-width:100%;height:auto}
table.sides{font-size:12px;margin-top:6px;width:100%}
table.sides th,table.sides td{padding:3px 6px;text-align:right}
th.ref{color:#4C78A8}th.cur{color:#F58518}
ul.notes{margin:8px 0 0;padding-left:18px;color:#444;font-size:13px}
table.perf td,table.perf th{min-width:110px}
.note{color:#555;font-size:13px}
footer{margin-top:36px;color:#444;font-size:13px;border-top:1px solid #dde;padding-top:6px}
"""

METHOD_NOTES = {
    "ks": "two-sample Kolmogorov-Smirnov test; drift when its p-value is below the threshold.",
    "chi2": ("chi-square test of homogeneity on the 2 x k table of category counts (both samples' noise "
             "counted; categories expected fewer than 5 times pooled); drift when p is below the threshold."),
    "wasserstein": ("Wasserstein-1 distance between the central 98% of both distributions, in units of "
                    "their robust scale (the trimmed std, equal to the std on normal data): 0.1 means the "
                    "bulk moved by about a tenth of a standard deviation."),
    "jensenshannon": ("Jensen-Shannon distance between the category (or quantile-bin) shares, natural log "
                      "(0 = identical, 0.83 = disjoint)."),
    "psi": "population stability index over categories or 10 quantile bins (0.1 moderate, 0.25 large shift).",
}
