"""The validation report's stylesheet: the drift report's look (same palette, verdict band,
tables), kept here because validation sits below monitoring and cannot import its style."""

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2328;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1400px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 14px}
h2{font-size:18px;margin:28px 0 10px;word-break:break-all}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef0f3;padding:1px 4px;
border-radius:4px;word-break:break-all}
.verdict{border-radius:10px;padding:16px 20px;color:#fff}
.verdict .big{font-size:22px;font-weight:700;margin-bottom:2px}
.verdict.fail{background:#c0392b}
.verdict.pass{background:#1e8449}
.meta,.facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:12px 2px 6px;color:#444}
table{border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden;width:100%}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid #eceef1;vertical-align:top}
th{background:#f0f2f5;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.fail td:first-child{border-left:4px solid #c0392b}
tr.warn td:first-child{border-left:4px solid #d68910}
tr.pass td{color:#555}
a{color:#1a5fb4;text-decoration:none}a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;
vertical-align:middle}
.badge.fail{background:#c0392b}.badge.pass{background:#1e8449}.badge.warn{background:#d68910}
.dataset{margin-top:30px}
.columns{margin:6px 2px 12px;line-height:2}
.col{display:inline-block;margin-right:12px;color:#555;font-size:12.5px}
details.files{margin:2px 2px 6px;color:#444}
details.files ul{margin:4px 0;padding-left:18px}
.name{font-weight:600;word-break:break-word}
.kind{color:#555;font-size:12.5px;word-break:break-word}
.problem{margin-top:4px;color:#a02a1e;font-weight:600}
td.observed{max-width:260px;word-break:break-word}
.of{color:#777;font-size:12px}
ul.sample{margin:0;padding:0;list-style:none;font-size:12.5px}
ul.sample .row{color:#777;white-space:nowrap}
footer{margin-top:36px;color:#444;font-size:13px;border-top:1px solid #dde;padding-top:6px}
"""
