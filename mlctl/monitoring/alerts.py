"""Alerts when drift is found: a command with the JSON verdict on stdin, a webhook POST.

An alert that fails does not hide the verdict: the check still exits 1 on drift, and the
failure is reported (a warning, and ``alerts`` in the JSON).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from mlctl.errors import UsageError

WEBHOOK_TIMEOUT = 10.0
WEBHOOK_ATTEMPTS = 3
COMMAND_TIMEOUT = 300.0


def check_webhook_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--webhook needs an http(s) URL, not {url!r}")
    return url


def slack_text(verdict: dict) -> str:
    """One line a person reads in a chat channel."""
    drifted = verdict.get("drifted_columns") or []
    head = "Data drift detected" if verdict.get("dataset_drift") else "No dataset drift"
    cols = ", ".join(drifted[:10]) + (f" and {len(drifted) - 10} more" if len(drifted) > 10 else "")
    share = verdict.get("share_drifted", 0.0)
    ref = (verdict.get("reference") or {}).get("source", "?")
    cur = (verdict.get("current") or {}).get("source", "?")
    text = (f"{head}: {verdict.get('number_of_drifted_columns', 0)}/{verdict.get('number_of_columns', 0)} "
            f"columns drifted ({share:.0%}, threshold {verdict.get('drift_share', 0.5):.0%}); "
            f"reference {ref}, current {cur}")
    return text + (f". Drifted: {cols}" if cols else "")


def run_command(command: str, payload: str) -> dict:
    """Run ``command`` through the shell with ``payload`` on stdin."""
    try:
        proc = subprocess.run(command, shell=True, input=payload.encode(), timeout=COMMAND_TIMEOUT,
                              stdout=subprocess.DEVNULL, stderr=None)
    except subprocess.TimeoutExpired:
        return {"command": command, "ok": False, "error": f"timed out after {COMMAND_TIMEOUT:.0f}s"}
    except OSError as exc:
        return {"command": command, "ok": False, "error": exc.strerror or str(exc)}
    ok = proc.returncode == 0
    return {"command": command, "ok": ok, "exit_code": proc.returncode,
            "error": None if ok else f"exited with {proc.returncode}"}


def post_webhook(url: str, body: dict) -> dict:
    """POST ``body`` as JSON; retries connection errors and 5xx answers with backoff."""
    data = json.dumps(body, allow_nan=False).encode()
    error = None
    for attempt in range(WEBHOOK_ATTEMPTS):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "mlctl"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
                return {"url": url, "ok": True, "status": response.status, "error": None}
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500:
                return {"url": url, "ok": False, "status": exc.code, "error": error}
        except (urllib.error.URLError, OSError) as exc:
            error = str(getattr(exc, "reason", exc))
        if attempt + 1 < WEBHOOK_ATTEMPTS:
            time.sleep(0.5 * 2 ** attempt)
    return {"url": url, "ok": False, "status": None, "error": error}
