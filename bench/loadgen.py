"""Closed-loop HTTP load generator: N keep-alive connections, fixed duration, rate and percentiles.

Two engines measure the same thing, so one run always uses one engine for every system:
- "wrk" (Debian's `wrk`, C and epoll): preferred, because on a 2-core machine a Python generator
  would take a core from the server it measures and cap the rate it can see;
- "python": threads + http.client, for machines without wrk.

Each connection sends its next request as soon as the previous answer arrives. A request body may
contain the placeholder @N@, replaced by a number unique to the request (so no two comments are
the same), and @K@, replaced by that number modulo CYCLE (200): a site's regular commenters.
The result is a dict: requests, seconds, rate (req/s), latency percentiles in ms (p50, p90, p99,
max, mean), answers by status code, and transport errors.

Standalone: python bench/loadgen.py URL [--method POST --body '{"n": "@N@"}' -H 'Content-Type: application/json']
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
from urllib.parse import urlsplit

PLACEHOLDER = "@N@"
CYCLE_PLACEHOLDER = "@K@"
CYCLE = 200


class LoadError(Exception):
    """The load generator itself failed (not the server under load)."""

RESULT_MARK = "LOADGEN-RESULT "


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, *, method: str = "GET", body: str | None = None, headers: dict | None = None,
        connections: int = 8, duration: float = 10.0, engine: str = "auto") -> dict:
    """Load `url` for `duration` seconds over `connections` connections; see the module docstring."""
    if engine == "auto":
        engine = "wrk" if wrk_available() else "python"
    if engine == "wrk":
        result = _run_wrk(url, method, body, headers or {}, connections, duration)
    elif engine == "python":
        result = _run_python(url, method, body, headers or {}, connections, duration)
    else:
        raise ValueError(f"unknown engine {engine!r}: use auto, wrk or python")
    result["engine"] = engine
    result["connections"] = connections
    return result


# wrk ------------------------------------------------------------------------------------------
# Lua run by wrk. Each wrk thread counts answers by status; done() gathers them and prints one
# JSON line (latencies in microseconds, converted by the caller).
_WRK_LUA = r"""
local method = [==[%(method)s]==]
local body_template = [==[%(body)s]==]
local has_body = %(has_body)s
local headers = %(headers)s
local threads = {}
local counter = 0
local next_thread = 0
tid = 0  -- each thread's own number, set by setup() in that thread's Lua state
statuses = {}

function setup(thread)
  next_thread = next_thread + 1
  thread:set("tid", next_thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function request()
  local body = nil
  if has_body then
    counter = counter + 1
    local n = tid * 100000000 + counter
    body = string.gsub(body_template, "@N@", tostring(n))
    body = string.gsub(body, "@K@", tostring(n %% %(cycle)d))
  end
  return wrk.format(method, nil, headers, body)
end

function response(status, hdrs, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, string.format('"%%s": %%d', k, v)) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do all[k] = (all[k] or 0) + v end
    end
  end
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"p50": %%d, "p90": %%d, "p99": %%d, "max": %%d, "mean": %%f}, "statuses": %%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    json_counts(all)))
end
"""


def _lua_string(value: str) -> str:
    if "]==]" in value:
        raise ValueError("request body or header contains ']==]', which the wrk script cannot quote")
    return "[==[" + value + "]==]"


def _run_wrk(url, method, body, headers, connections, duration) -> dict:
    lua_headers = "{" + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + "}"
    script = _WRK_LUA % {
        "method": method, "body": body or "", "has_body": "true" if body is not None else "false",
        "headers": lua_headers, "mark": RESULT_MARK, "cycle": CYCLE,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        # One wrk thread drives all connections: enough for loopback, and it leaves the CPU to the servers.
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "30s",
               "-s", path, url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(path)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
    if proc.returncode != 0 or line is None:
        raise LoadError(f"wrk failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    raw = json.loads(line[len(RESULT_MARK):])
    seconds = raw["duration_us"] / 1e6
    lat = raw["latency_us"]
    errors = raw["errors"]
    return {
        "requests": raw["requests"],
        "seconds": seconds,
        "rate": raw["requests"] / seconds if seconds else 0.0,
        "latency_ms": {k: lat[k] / 1000.0 for k in ("p50", "p90", "p99", "max", "mean")},
        "statuses": {int(k): v for k, v in raw["statuses"].items()},
        "transport_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "bytes": raw["bytes"],
    }


# Python ---------------------------------------------------------------------------------------
def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[index]


def _run_python(url, method, body, headers, connections, duration) -> dict:
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    start_gate = threading.Barrier(connections + 1)
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    received = [0]
    deadline = [0.0]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
        mine: list[float] = []
        codes: dict[int, int] = {}
        n = 0
        size = 0
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            n += 1
            number = index * 100000000 + n
            payload = None if body is None else (
                body.replace(PLACEHOLDER, str(number)).replace(CYCLE_PLACEHOLDER, str(number % CYCLE)).encode())
            t0 = time.perf_counter()
            try:
                conn.request(method, target, body=payload, headers=headers)
                resp = conn.getresponse()
                size += len(resp.read())
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
            codes[resp.status] = codes.get(resp.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count
            received[0] += size

    threads = [threading.Thread(target=worker, args=(i + 1,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline[0] = began + duration
    start_gate.wait()
    for t in threads:
        t.join(duration + 60)
    seconds = time.perf_counter() - began
    latencies.sort()
    ms = [v * 1000.0 for v in latencies]
    return {
        "requests": len(ms),
        "seconds": seconds,
        "rate": len(ms) / seconds if seconds else 0.0,
        "latency_ms": {"p50": _percentile(ms, 50), "p90": _percentile(ms, 90), "p99": _percentile(ms, 99),
                       "max": ms[-1] if ms else math.nan, "mean": sum(ms) / len(ms) if ms else math.nan},
        "statuses": statuses,
        "transport_errors": errors[0],
        "bytes": received[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", help=f"request body; {PLACEHOLDER} becomes a unique number per request, "
                                       f"{CYCLE_PLACEHOLDER} that number modulo {CYCLE}")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("-c", "--connections", type=int, default=8)
    parser.add_argument("-d", "--duration", type=float, default=10.0)
    parser.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    headers = {}
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep:
            parser.error(f"header {item!r} is not 'Name: value'")
        headers[name.strip()] = value.strip()
    print(json.dumps(run(args.url, method=args.method, body=args.body, headers=headers,
                         connections=args.connections, duration=args.duration, engine=args.engine), indent=2))


if __name__ == "__main__":
    main()
