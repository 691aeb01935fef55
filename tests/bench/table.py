#!/usr/bin/env python3
"""
table.py: the helper of tests/bench/run.sh (Python 3 standard library).

    table.py ping HOST:PORT [SECONDS]     waits until an ng server answers
                                          ping (exit 0) or SECONDS pass (1)
    table.py record OUT.jsonl relay=rtpsec load=plain-1000 ... < rtpload.out
                                          appends one JSON line: the key=value
                                          pairs and rtpload's RESULT {json}
    table.py machine OUT.jsonl key=value ...
                                          appends the machine record
    table.py show FILE.jsonl              the side-by-side table (rtpsec |
                                          rtpengine | ratio) and the targets

Values of key=value that parse as JSON numbers are stored as numbers.
"""
import json
import socket
import sys
import time

RELAYS = ("rtpsec", "rtpengine")


# ---------------------------------------------------------------- ng ping
def ping(addr, seconds=15.0):
    host, port = addr.rsplit(":", 1)
    deadline = time.monotonic() + float(seconds)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    try:
        while time.monotonic() < deadline:
            n += 1
            cookie = b"bench_%d" % n
            try:
                s.sendto(cookie + b" d7:command4:pinge", (host, int(port)))
                s.settimeout(0.3)
                data, _ = s.recvfrom(65535)
                if data.startswith(cookie + b" ") and b"pong" in data:
                    return 0
            except OSError:
                time.sleep(0.2)
    finally:
        s.close()
    return 1


# ---------------------------------------------------------------- record
def kv(args):
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def record(path, args):
    rec = {"type": "run", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                time.gmtime())}
    rec.update(kv(args))
    result = None
    for line in sys.stdin.read().splitlines():
        if line.startswith("RESULT "):
            try:
                result = json.loads(line[7:])
            except ValueError as e:
                rec["error"] = "bad RESULT line: %s" % e
    rec["result"] = result
    if result is None and "error" not in rec:
        rec["error"] = "no RESULT line"
    with open(path, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    return 0 if result is not None else 1


def machine(path, args):
    rec = {"type": "machine"}
    rec.update(kv(args))
    with open(path, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    return 0


# ---------------------------------------------------------------- table
def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d if isinstance(d, (int, float)) and not isinstance(d, bool) \
        else None


def fmt(v, prec):
    if v is None:
        return "-"
    if prec == 0:
        return "%d" % round(v)
    return "%.*f" % (prec, v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# Each row: label, function(result) -> value, precision.
ROWS = [
    ("setup failed", lambda r: get(r, "setup_failed"), 0),
    ("setup p50 (ms)", lambda r: ms(get(r, "setup_us", "p50")), 3),
    ("setup p99 (ms)", lambda r: ms(get(r, "setup_us", "p99")), 3),
    ("setup max (ms)", lambda r: ms(get(r, "setup_us", "max")), 3),
    ("packets sent", lambda r: get(r, "sent"), 0),
    ("packets delivered", lambda r: get(r, "delivered"), 0),
    ("loss %", lambda r: get(r, "loss_pct"), 4),
    ("latency p50 (us)", lambda r: get(r, "latency_us", "p50"), 1),
    ("latency p99 (us)", lambda r: get(r, "latency_us", "p99"), 1),
    ("latency max (us)", lambda r: get(r, "latency_us", "max"), 0),
    ("relay CPU (s)", lambda r: get(r, "relay_cpu_s"), 3),
    ("relay CPU-us/packet", lambda r: get(r, "cpu_us_per_pkt"), 3),
    ("relay CPU whole run (s)", lambda r: get(r, "relay_cpu_whole_s"), 3),
    ("RSS per call (kB)", lambda r: kb(get(r, "rss_per_call_bytes")), 2),
    ("tool CPU %", lambda r: get(r, "tool_cpu_pct"), 1),
    ("late ticks", lambda r: get(r, "late_ticks"), 0),
]
SAT_ROWS = [
    ("saturate best pps", lambda r: get(r, "saturate", "best_pps"), 0),
    ("saturate steps", lambda r: steps(r), 0),
    ("relay CPU-us/packet", lambda r: get(r, "cpu_us_per_pkt"), 3),
    ("tool CPU %", lambda r: get(r, "tool_cpu_pct"), 1),
]


def merged(rec):
    """rtpload's RESULT plus what run.sh measured itself."""
    if not rec or not isinstance(rec.get("result"), dict):
        return None
    r = dict(rec["result"])
    for k in ("relay_cpu_whole_s", "redis_cpu_s"):
        if k in rec:
            r[k] = rec[k]
    return r


def ms(us):
    return None if us is None else us / 1000.0


def kb(b):
    return None if b is None else b / 1024.0


def steps(r):
    s = (r or {}).get("saturate") or {}
    st = s.get("steps")
    return len(st) if isinstance(st, list) else None


# The targets: (load, row label, kind, limit, text). kind "ratio"
# compares rtpsec/rtpengine, "abs" rtpsec's own value; "max" means <=, "min"
# means >=, "lt" means <.
TARGETS = [
    ("plain-1000", "relay CPU-us/packet", "ratio", "max", 0.35,
     "CPU-us/pkt at 1000 calls <= 0.35x rtpengine (plain)"),
    ("srtp-1000", "relay CPU-us/packet", "ratio", "max", 0.35,
     "CPU-us/pkt at 1000 calls <= 0.35x rtpengine (SDES)"),
    ("plain-2000", "loss %", "abs", "lt", 0.1,
     "2000 calls: loss < 0.1% (plain)"),
    ("srtp-2000", "loss %", "abs", "lt", 0.1,
     "2000 calls: loss < 0.1% (SDES)"),
    ("saturate", "saturate best pps", "ratio", "min", 1.7,
     "saturation throughput >= 1.7x rtpengine"),
    ("plain-1000", "latency p99 (us)", "abs", "max", 1000.0,
     "latency p99 <= 1 ms at 1000 calls (plain)"),
    ("srtp-1000", "latency p99 (us)", "abs", "max", 1000.0,
     "latency p99 <= 1 ms at 1000 calls (SDES)"),
    ("*", "RSS per call (kB)", "abs", "max", 4.0,
     "memory <= 4 KB per call (every load)"),
    ("*", "setup p99 (ms)", "abs", "max", 1.0,
     "setup p99 <= 1 ms (every load)"),
]


def check(kind, cmp, limit, rs, rr):
    v = ratio(rs, rr) if kind == "ratio" else rs
    if v is None:
        return None, None
    ok = {"max": v <= limit, "min": v >= limit, "lt": v < limit}[cmp]
    return v, ok


def target_note(load, label, kind, cmp, limit, v, ok):
    sym = {"max": "<=", "min": ">=", "lt": "<"}[cmp]
    what = "ratio" if kind == "ratio" else "rtpsec"
    if ok is None:
        return "target %s %s %g: n/a" % (what, sym, limit)
    return "target %s %s %g: %s" % (what, sym, limit,
                                    "met" if ok else "NOT met")


def show(path):
    machine_rec = None
    runs = {}
    order = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("type") == "machine":
                machine_rec = rec
                continue
            load = rec.get("load")
            if load not in runs:
                runs[load] = {}
                order.append(load)
            runs[load][rec.get("relay")] = rec

    out = []
    w = out.append
    if machine_rec:
        m = machine_rec
        w("== machine: %s, %s cores, kernel %s" % (
            m.get("cpu", "?"), m.get("nproc", "?"), m.get("kernel", "?")))
        w("   rtpsec: relayd workers %s, libsrtp2 %s (%s); rtpengine %s" % (
            m.get("workers", "?"), m.get("libsrtp", "?"),
            m.get("srtp_build", "?"), m.get("rtpengine_version", "?")))
        w("   duration %s s per load, %s pps per stream, ulimit -n %s%s" % (
            m.get("duration", "?"), m.get("rate", "?"), m.get("nofile", "?"),
            ", QUICK" if m.get("quick") else ""))
        if m.get("rtpengine_cmd"):
            w("   rtpengine: %s" % m["rtpengine_cmd"])
    results = {}
    for load in order:
        rel = runs[load]
        any_rec = rel.get("rtpsec") or rel.get("rtpengine") or {}
        w("")
        if load == "saturate":
            w("== %s  (%s calls, plain, rtpload --saturate from %s pps/"
              "stream, %s s a step)" % (
                  load, any_rec.get("calls", "?"), any_rec.get("rate", "?"),
                  any_rec.get("duration", "?")))
        else:
            w("== %s  (%s calls, %s pps/stream, %s s, %s)" % (
                load, any_rec.get("calls", "?"), any_rec.get("rate", "?"),
                any_rec.get("duration", "?"),
                "SDES-SRTP caller leg" if any_rec.get("srtp") else "plain"))
        for r in RELAYS:
            rec = rel.get(r)
            if rec is None:
                w("   %s: not run" % r)
            elif rec.get("error") or rec.get("rc") not in (0, None):
                w("   %s: FAILED (rc %s: %s)" % (
                    r, rec.get("rc"), rec.get("error") or
                    (rec.get("stderr_tail") or "")[-200:]))
        w("   %-22s %12s %12s %8s" % ("", "rtpsec", "rtpengine", "ratio"))
        rows = SAT_ROWS if load == "saturate" else ROWS
        for label, fn, prec in rows:
            rs = fn(merged(rel.get("rtpsec")))
            rr = fn(merged(rel.get("rtpengine")))
            results[(load, label)] = (rs, rr)
            q = ratio(rs, rr)
            note = ""
            for tl, tlab, kind, cmp, limit, text in TARGETS:
                if tlab == label and (tl == load or
                                      (tl == "*" and load != "saturate")):
                    v, ok = check(kind, cmp, limit, rs, rr)
                    note = "  " + target_note(load, label, kind, cmp,
                                              limit, v, ok)
            w("   %-22s %12s %12s %8s%s" % (label, fmt(rs, prec),
                                          fmt(rr, prec), fmt(q, 2), note))
    w("")
    w("== targets (the issue's), rtpsec vs rtpengine")
    for tl, label, kind, cmp, limit, text in TARGETS:
        loads = [l for l in order if l != "saturate"] if tl == "*" else [tl]
        vals = []
        for l in loads:
            rs, rr = results.get((l, label), (None, None))
            v, ok = check(kind, cmp, limit, rs, rr)
            if ok is not None:
                vals.append((l, v, ok))
        if not vals:
            state, detail = "not run", ""
        else:
            bad = [x for x in vals if not x[2]]
            state = "met" if not bad else "NOT met"
            worst = (bad or vals)
            worst = max(worst, key=lambda x: x[1]) if cmp != "min" else \
                min(worst, key=lambda x: x[1])
            detail = "(%s %s: %.3g)" % (
                "ratio" if kind == "ratio" else "rtpsec",
                worst[0], worst[1])
        w("   %-8s %-52s %s" % (state, text, detail))
    w("")
    w("notes: rtpsec CPU and RSS are relayd+ctld+keyd+statsd; its Redis is "
      "not counted")
    w("       (redis CPU per load is in the .jsonl as redis_cpu_s). rtpengine "
      "runs in userspace")
    w("       (--table=-1), without Redis, recording or Homer. ratio = "
      "rtpsec / rtpengine.")
    w("       relay CPU and CPU-us/packet: rtpload's measured window "
      "(each process's CPU-time clock);")
    w("       relay CPU whole run: run.sh's schedstat of all relay threads "
      "over setup + media + delete.")
    redis = ["%s %.3f s" % (l, runs[l]["rtpsec"]["redis_cpu_s"])
             for l in order if isinstance(
                 (runs[l].get("rtpsec") or {}).get("redis_cpu_s"),
                 (int, float))]
    if redis:
        w("       redis CPU during each rtpsec run: " + ", ".join(redis))
    print("\n".join(out))
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "ping" and len(argv) >= 3:
        return ping(argv[2], argv[3] if len(argv) > 3 else 15)
    if cmd == "record" and len(argv) >= 3:
        return record(argv[2], argv[3:])
    if cmd == "machine" and len(argv) >= 3:
        return machine(argv[2], argv[3:])
    if cmd == "show" and len(argv) == 3:
        return show(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
