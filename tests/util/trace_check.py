# SPDX-License-Identifier: BSD-3-Clause
"""Checks a timeline written by `perfex extract --trace` / `perfex bench
--trace` against the Chrome trace-event format and what perfex puts in it.

    trace_check.py TRACE.json --ranks N --queues Q --wall-us W
                   [--frames F] [--idle] [--group-wait] [--bench]

Exit 0 when every check passes, 1 with one line per failure otherwise.
Checks (the format: a JSON object with "traceEvents", a list of events with
"ph"; "X" events with numeric ts and dur >= 0, "M" metadata events):
  - pids are exactly 0 .. N-1, each with process_name metadata;
  - each pid names lane 0 (host) and, for every queue 0 .. Q-1, its
    "queue K host thread" and "queue K device" lanes (thread_name);
  - each pid has stage events named spots, assembly and cholesky+solve on a
    queue's host lane, whose args carry batch and a patch range ("patches"
    "a-b" with b = patch_first + patch_count - 1);
  - each pid has OpenCL events (cat "opencl") on a queue's device lane, each
    inside its batch's span on the host lane of that queue (same batch and
    patch_first) within 0.5 ms: the device clock calibration works (its error
    is microseconds; an unconverted device clock is off by far more);
  - every X event lies within [0, W] microseconds (W: the run's wall time,
    measured around the command by the caller);
  - on each lane, X events nest (none overlaps another partially), as
    Perfetto and chrome://tracing need to draw them;
  - with --frames F: F events of cat "frame" over all pids, each with an
    output argument; with --idle: some cat "idle" event; with --group-wait:
    some "wait: the group's other ranks" event on every pid; with --bench:
    cat "bench" events on every pid.
Uses only the standard library (json).
"""
import argparse
import json
import re
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--ranks", type=int, required=True)
    ap.add_argument("--queues", type=int, required=True)
    ap.add_argument("--wall-us", type=float, required=True)
    ap.add_argument("--frames", type=int)
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--group-wait", action="store_true")
    ap.add_argument("--bench", action="store_true")
    a = ap.parse_args()
    bad = []

    with open(a.trace, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        print("FAIL: not a trace-event JSON object with a traceEvents list")
        return 1
    if doc.get("displayTimeUnit") not in ("ms", "ns"):
        bad.append("displayTimeUnit missing or not ms/ns")
    events = doc["traceEvents"]
    xs, meta = [], []
    for e in events:
        if not isinstance(e, dict) or "ph" not in e or "pid" not in e:
            bad.append("event without ph/pid: %r" % (e,))
            continue
        if e["ph"] == "X":
            ok = all(isinstance(e.get(k), (int, float)) for k in ("ts", "dur"))
            if not ok or e["dur"] < 0 or "name" not in e or "tid" not in e:
                bad.append("bad X event: %r" % (e,))
                continue
            xs.append(e)
        elif e["ph"] == "M":
            meta.append(e)
        else:
            bad.append("unexpected phase %r" % e["ph"])

    pids = sorted({e["pid"] for e in events if isinstance(e, dict) and "pid" in e})
    if pids != list(range(a.ranks)):
        bad.append("pids %s, want 0..%d" % (pids, a.ranks - 1))
    pname = {e["pid"]: e["args"].get("name") for e in meta if e.get("name") == "process_name"}
    tname = {(e["pid"], e["tid"]): e["args"].get("name")
             for e in meta if e.get("name") == "thread_name"}
    for p in range(a.ranks):
        if not pname.get(p):
            bad.append("pid %d: no process_name" % p)
        if not tname.get((p, 0)):
            bad.append("pid %d: lane 0 (host) not named" % p)
        for q in range(a.queues):
            for kind in ("host thread", "device"):
                want = "queue %d %s" % (q, kind)
                if not any(n and n.startswith(want) for (pp, _), n in tname.items() if pp == p):
                    bad.append("pid %d: no lane named '%s'" % (p, want))
        qlanes = [t for (pp, t), n in tname.items() if pp == p and n and n.startswith("queue ")]
        if len(qlanes) != 2 * a.queues:
            bad.append("pid %d: %d queue lanes, want %d" % (p, len(qlanes), 2 * a.queues))

    def lane_kind(e):
        n = tname.get((e["pid"], e["tid"])) or ""
        m = re.match(r"queue (\d+) (host thread|device)", n)
        return (m.group(2), int(m.group(1))) if m else (None, None)

    batches = {}
    for e in xs:
        kind, q = lane_kind(e)
        if kind == "host thread" and e["name"] == "batch":
            key = (e["pid"], q, e["args"].get("batch"), e["args"].get("patch_first"))
            batches.setdefault(key, []).append(e)  # one per frame
    for p in range(a.ranks):
        mine = [e for e in xs if e["pid"] == p]
        stages = [e for e in mine if e.get("cat") == "stage" and lane_kind(e)[0] == "host thread"]
        for want in ("spots", "assembly", "cholesky+solve"):
            if not any(e["name"] == want for e in stages):
                bad.append("pid %d: no '%s' stage on a queue lane" % (p, want))
        for e in stages:
            g = e.get("args", {})
            pr = g.get("patches")
            if not isinstance(g.get("batch"), int) or not isinstance(pr, str):
                bad.append("pid %d: stage %s without batch/patches args" % (p, e["name"]))
                break
            lo, hi = (int(v) for v in pr.split("-"))
            if lo != g.get("patch_first") or hi != lo + g.get("patch_count", 0) - 1:
                bad.append("pid %d: patch range %s vs first %s count %s" %
                           (p, pr, g.get("patch_first"), g.get("patch_count")))
                break
        cl = [e for e in mine if e.get("cat") == "opencl"]
        if not cl:
            bad.append("pid %d: no OpenCL events" % p)
        for e in cl:
            kind, q = lane_kind(e)
            g = e.get("args", {})
            bl = batches.get((p, q, g.get("batch"), g.get("patch_first")), [])
            if kind != "device":
                bad.append("pid %d: OpenCL event %s off a device lane" % (p, e["name"]))
                break
            if not bl:
                bad.append("pid %d: OpenCL event %s of no batch %r" % (p, e["name"], g))
                break
            if not any(b["ts"] - 500 <= e["ts"] and
                       e["ts"] + e["dur"] <= b["ts"] + b["dur"] + 500 for b in bl):
                bad.append("pid %d: OpenCL event %s [%.1f, +%.1f] outside its batch %r" %
                           (p, e["name"], e["ts"], e["dur"], g))
                break
        if a.group_wait and not any(e["name"] == "wait: the group's other ranks" for e in mine):
            bad.append("pid %d: no wait for the group" % p)
        if a.bench and not any(e.get("cat") == "bench" for e in mine):
            bad.append("pid %d: no bench events" % p)

    for e in xs:
        if e["ts"] < 0 or e["ts"] + e["dur"] > a.wall_us:
            bad.append("event %s [%.1f, +%.1f] us outside the run's %.0f us" %
                       (e["name"], e["ts"], e["dur"], a.wall_us))
            break

    # nesting per lane: sorted by start (longest first), a stack of open ends
    lanes = {}
    for e in xs:
        lanes.setdefault((e["pid"], e["tid"]), []).append(e)
    eps = 0.002  # ts and dur are each rounded to the nanosecond
    for key, lst in lanes.items():
        lst.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in lst:
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"] + eps:
                stack.pop()
            if stack and e["ts"] + e["dur"] > stack[-1]["ts"] + stack[-1]["dur"] + eps:
                bad.append("lane %s: %s [%.3f, +%.3f] overlaps %s [%.3f, +%.3f]" %
                           (key, e["name"], e["ts"], e["dur"], stack[-1]["name"],
                            stack[-1]["ts"], stack[-1]["dur"]))
                break
            stack.append(e)

    frames = [e for e in xs if e.get("cat") == "frame"]
    if a.frames is not None:
        if len(frames) != a.frames:
            bad.append("%d frame events, want %d" % (len(frames), a.frames))
        if any(not e.get("args", {}).get("output") for e in frames):
            bad.append("a frame event without its output")
    if a.idle and not any(e.get("cat") == "idle" for e in xs):
        bad.append("no idle events")

    for b in bad:
        print("FAIL:", b)
    if not bad:
        print("trace ok: %d events, %d ranks, %d queue(s) each, %d frames, %d OpenCL events" %
              (len(events), a.ranks, a.queues, len(frames),
               sum(1 for e in xs if e.get("cat") == "opencl")))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
