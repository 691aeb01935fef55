"""
Issue 5, "kill -9 statsd": metrics come back with counters that never go
backwards.

The cluster runs under supervisord (tools/run.sh, etc/supervisord.conf,
as in test_supervisord.py), with traffic between faults: ng pings and a
plain call relaying RTP both ways.  FAULT_KILLS times (default 5; a soak
sets more) statsd is killed with SIGKILL by PID, in turn:

  statsd          alone;
  relayd, statsd  relayd first (its counters restart from zero), statsd
                  once it has heard the new relayd;
  ctld, statsd    the same with ctld;
  statsd+relayd   both at once: relayd restarts while statsd is down.

After each fault, the very first /metrics the new statsd answers has
every *_total series scraped before the fault, none lower; so does every
scrape after that.  A call in progress streams RTP (50 packets/s) across
each statsd kill: statsd is not on the media path, so no packet is lost,
and relayd's packet counter, once settled, has grown by exactly the
packets relayed (nothing lost, nothing counted twice).

Each kill prints a line (as tests/integration/faults.py's fault_line):
  FAULT statsd kill=<i> plan=<plan> restart_ms=<SIGKILL to the new
  statsd's first /metrics answer> exec_ms=<of which since its exec>
  gap_ms=<longest media gap> lost_pkts=<n> lost_calls=<n> backwards=0
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from cluster import (B, ROOT, Resp, RtpEndpoint, Metrics, _free_port,
                     _media_window, bdecode, bencode, log, make_sdp,
                     parse_sdp, wait_until,
                     pids_with)

KILLS = int(os.environ.get("FAULT_KILLS", "5"))
NODE = "fault-statsd"
PLAN = ("statsd", "relayd", "ctld", "statsd+relayd")
# what a statsd save lags behind (PERSIST_SAVE_MS), with some slack
SAVE_S = 1.3


def totals(m):
    """{(name, labels): value} of the counters (*_total) of Metrics m."""
    return {(n, tuple(sorted(l.items()))): v for n, l, v in m.samples
            if n.endswith("_total")}


def started_boottime(pid):
    """When process pid started, in CLOCK_BOOTTIME seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


class MediaFlow:
    """RTP from a to the relay port dest (relayed to b) at 50 packets/s
    in one thread, b's arrivals timed in another."""

    def __init__(self, a, b, dest):
        self.a, self.b, self.dest = a, b, dest
        self.sent = 0
        self.arrivals = []
        self.stop_tx = threading.Event()
        self.stop_rx = threading.Event()
        self.b.rtp.settimeout(0.05)
        self.rx = threading.Thread(target=self._recv, daemon=True)
        self.tx = threading.Thread(target=self._send, daemon=True)
        self.rx.start()
        self.tx.start()

    def _send(self):
        nxt = time.monotonic()
        while not self.stop_tx.is_set():
            self.a.rtp.sendto(self.a.packet(160), self.dest)
            self.sent += 1
            nxt += 0.02
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)

    def _recv(self):
        while not self.stop_rx.is_set():
            try:
                self.b.rtp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.arrivals.append(time.monotonic())

    def finish(self):
        """(sent, received, longest gap in ms)."""
        self.stop_tx.set()
        self.tx.join()
        time.sleep(0.3)		# the last packets in flight
        self.stop_rx.set()
        self.rx.join()
        t = self.arrivals
        gap = max([(y - x) * 1000 for x, y in zip(t, t[1:])] or [0])
        return self.sent, len(t), gap


def series_name(key):
    n, labels = key
    return "%s{%s}" % (n, ",".join('%s="%s"' % kv for kv in labels))


class FaultStatsdTest(unittest.TestCase):
    def setUp(self):
        if shutil.which("supervisord") is None:
            self.fail("supervisord is not installed (tools/deps.sh test)")
        self.dir = tempfile.mkdtemp(prefix="rtpsec-fstatsd.")
        os.chmod(self.dir, 0o755)
        self.run_dir = os.path.join(self.dir, "run")
        os.mkdir(self.run_dir)
        self.ng_port = _free_port()
        self.http_port = _free_port((socket.SOCK_STREAM,))
        lo, hi = _media_window()
        self.conf = os.path.join(self.dir, "rtpsec.conf")
        asan = "asan" in os.path.basename(B)
        with open(self.conf, "w") as f:
            f.write("[common]\nrun_dir = %s\nnode_id = %s\n"
                    "stats_interval_ms = 200\n%s"
                    "[relayd]\nport_min = %d\nport_max = %d\n"
                    "[ctld]\nng_listen = 127.0.0.1:%d\ndelete_delay = 0\n"
                    "[statsd]\nhttp_listen = 127.0.0.1:%d\n"
                    "down_after_ms = 3000\n" %
                    (self.run_dir, NODE, "chroot = no\nseccomp = no\n"
                     if asan else "", lo, hi, self.ng_port, self.http_port))
        self.logf = open(os.path.join(self.dir, "run.log"), "w")
        env = dict(os.environ, B=B, RTPSEC_CONF=self.conf)
        self.run = subprocess.Popen([os.path.join(ROOT, "tools", "run.sh")],
                                    env=env, stdout=self.logf,
                                    stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.ng = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.n = 0

    def tearDown(self):
        if self.run.poll() is None:
            os.killpg(self.run.pid, signal.SIGTERM)
            try:
                self.run.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.run.pid, signal.SIGKILL)
                self.run.wait()
        for p in pids_with(self.conf) + pids_with(self.run_dir):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.ng.close()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers
    def log_tail(self, n=4000):
        with open(os.path.join(self.dir, "run.log")) as f:
            return f.read()[-n:]

    def ng_cmd(self, d, timeout=1.0):
        """d's reply, or None; late replies to earlier cookies skipped."""
        self.n += 1
        cookie = b"fst%d" % self.n
        self.ng.sendto(cookie + b" " + bencode(d),
                       ("127.0.0.1", self.ng_port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ng.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                data, _ = self.ng.recvfrom(65536)
            except socket.timeout:
                return None
            if data.startswith(cookie + b" "):
                return bdecode(data[len(cookie) + 1:])
        return None

    def pong(self):
        r = self.ng_cmd({"command": "ping"}, timeout=0.3)
        return r is not None and r.get("result") == "pong"

    def pid_of(self, prog):
        ps = pids_with("%s -f %s" % (prog, self.conf))
        return ps[0] if len(ps) == 1 else None

    def http_get(self, path, timeout=1.0):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                       timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def scrape(self):
        st, body = self.http_get("/metrics")
        self.assertEqual(st, 200, body)
        return Metrics(body)

    def health(self):
        try:
            _, body = self.http_get("/health", timeout=0.5)
            return json.loads(body)
        except (OSError, ValueError):
            return None

    def heard(self, prog, pid):
        """statsd reports prog up, heard from its process pid."""
        h = self.health()
        if h is None:
            return False
        d = h["daemons"][prog]
        return d["up"] and any(n["pid"] == pid and n["up"]
                               for n in d["nodes"])

    def call_relays(self, cid, n=5):
        """A plain call relays n RTP packets each way, then is deleted."""
        a, b = RtpEndpoint("127.0.0.1"), RtpEndpoint("127.0.0.1")
        try:
            r = self.ng_cmd({"command": "offer", "call-id": cid,
                             "from-tag": "ta", "sdp": make_sdp(
                                 "127.0.0.1", (("audio", a.port, "0"),))},
                            timeout=3)
            self.assertEqual(r and r.get("result"), "ok", r)
            to_b = parse_sdp(r["sdp"])["media"][0]["port"]
            r = self.ng_cmd({"command": "answer", "call-id": cid,
                             "from-tag": "ta", "to-tag": "tb",
                             "sdp": make_sdp("127.0.0.1",
                                             (("audio", b.port, "0"),))},
                            timeout=3)
            self.assertEqual(r and r.get("result"), "ok", r)
            to_a = parse_sdp(r["sdp"])["media"][0]["port"]
            a.send_rtp(("127.0.0.1", to_a), n=n)
            self.assertEqual(len(b.recv_rtp(n)), n)
            b.send_rtp(("127.0.0.1", to_b), n=n)
            self.assertEqual(len(a.recv_rtp(n)), n)
            r = self.ng_cmd({"command": "delete", "call-id": cid,
                             "from-tag": "ta"}, timeout=3)
            self.assertEqual(r and r.get("result"), "ok", r)
        finally:
            a.close()
            b.close()

    def start_call(self, cid):
        """A plain call with RTP flowing from a to b: (a, b, MediaFlow)."""
        a, b = RtpEndpoint("127.0.0.1"), RtpEndpoint("127.0.0.1")
        r = self.ng_cmd({"command": "offer", "call-id": cid,
                         "from-tag": "ta", "sdp": make_sdp(
                             "127.0.0.1", (("audio", a.port, "0"),))},
                        timeout=3)
        self.assertEqual(r and r.get("result"), "ok", r)
        r = self.ng_cmd({"command": "answer", "call-id": cid,
                         "from-tag": "ta", "to-tag": "tb",
                         "sdp": make_sdp("127.0.0.1",
                                         (("audio", b.port, "0"),))},
                        timeout=3)
        self.assertEqual(r and r.get("result"), "ok", r)
        to_a = parse_sdp(r["sdp"])["media"][0]["port"]
        return a, b, MediaFlow(a, b, ("127.0.0.1", to_a))

    def call_alive(self, cid):
        r = self.ng_cmd({"command": "query", "call-id": cid,
                         "from-tag": "ta"}, timeout=3)
        return r is not None and r.get("result") == "ok"

    def traffic(self, tag):
        for _ in range(5):
            self.assertTrue(self.pong(), "ng ping unanswered")
        self.call_relays("fst-%s" % tag)

    def assert_monotonic(self, before, after, what):
        b, a = totals(before), totals(after)
        missing = [series_name(k) for k in b if k not in a]
        self.assertEqual(missing, [], "%s: series gone" % what)
        down = ["%s %g -> %g" % (series_name(k), v, a[k])
                for k, v in b.items() if a[k] < v]
        self.assertEqual(down, [], "%s: counters went backwards\n%s" %
                         (what, self.log_tail()))

    def kill_and_wait(self, prog):
        """SIGKILL prog by PID; its new PID once supervisord restarted it
        and statsd (if prog is not statsd) has heard from it."""
        old = self.pid_of(prog)
        self.assertIsNotNone(old, "%s not running" % prog)
        os.kill(old, signal.SIGKILL)
        new = wait_until(lambda: (self.pid_of(prog) not in (None, old)
                                  and self.pid_of(prog)),
                         timeout=15, what="%s restarted" % prog)
        if prog != "statsd":
            wait_until(lambda: self.heard(prog, new), timeout=15,
                       what="statsd hears the new %s" % prog)
        return new

    def first_metrics(self, t0, old_pid):
        """Polls until a new statsd answers /metrics: (ms from t0 (a
        CLOCK_BOOTTIME time) to the answer, ms from the new statsd's
        start to the answer, Metrics)."""
        deadline = t0 + 20
        while time.clock_gettime(time.CLOCK_BOOTTIME) < deadline:
            try:
                st, body = self.http_get("/metrics", timeout=0.2)
            except OSError:
                time.sleep(0.005)
                continue
            if st == 200:
                now = time.clock_gettime(time.CLOCK_BOOTTIME)
                pid = self.pid_of("statsd")
                self.assertNotEqual(pid, old_pid, "the old statsd answered")
                # /proc's start time is in clock ticks (10 ms)
                ms = (now - t0) * 1000
                return (ms, min(ms, (now - started_boottime(pid)) * 1000),
                        Metrics(body))
        self.fail("statsd did not answer /metrics within 20 s:\n" +
                  self.log_tail())

    # ---- the test
    def test_counters_survive_kills(self):
        try:
            wait_until(self.pong, timeout=20, what="ng pong")
            for prog in ("relayd", "keyd", "ctld", "statsd"):
                wait_until(lambda: self.pid_of(prog), timeout=10,
                           what="%s running" % prog)
            wait_until(lambda: (self.health() or {}).get("status") == "up",
                       timeout=15, what="statsd /health up")
        except AssertionError:
            self.fail("cluster did not come up:\n" + self.log_tail())
        # /health lists every daemon with up/down and when it was heard
        h = self.health()
        for prog in ("relayd", "ctld", "keyd"):
            self.assertTrue(h["daemons"][prog]["up"], h)
            self.assertIsNotNone(h["daemons"][prog]["last_heard_ms"], h)
            self.assertEqual(len(h["daemons"][prog]["nodes"]), 1, h)
        # statsd may have started before Redis accepted: it reconnects
        # every second
        wait_until(lambda: ((self.health() or {}).get("daemons", {})
                            .get("statsd", {}).get("persisting")),
                   timeout=5, what="statsd persisting to Redis")

        self.traffic("start")
        time.sleep(SAVE_S)
        first = self.scrape()
        self.assertGreater(first.get("rtpsec_packets_relayed_total",
                                     daemon="relayd", default=0), 0)
        times = []
        statsd_pid = self.pid_of("statsd")
        statsd_pids = [statsd_pid]
        for i in range(KILLS):
            plan = PLAN[i % len(PLAN)]
            self.traffic("r%d" % i)
            if plan in ("relayd", "ctld"):
                before = self.scrape()
                t0 = time.monotonic()
                self.kill_and_wait(plan)
                log("round %d: %s killed, back and heard in %.0f ms" %
                    (i, plan, (time.monotonic() - t0) * 1000))
                self.assert_monotonic(before, self.scrape(),
                                      "round %d, after kill %s" % (i, plan))
                # the new process counts from zero, statsd goes on
                self.traffic("r%d-after-%s" % (i, plan))
            # quiet: what statsd exports has reached Redis
            time.sleep(SAVE_S)
            base = self.scrape()
            cid = "fst-flow-%d" % i
            a, b, flow = self.start_call(cid)
            try:
                time.sleep(0.5)
                before = self.scrape()
                old = self.pid_of("statsd")
                self.assertIsNotNone(old)
                # statsd restarts only when killed here
                if statsd_pid is not None:
                    self.assertEqual(old, statsd_pid, "statsd restarted "
                                     "on its own:\n" + self.log_tail())
                t0 = time.clock_gettime(time.CLOCK_BOOTTIME)
                os.kill(old, signal.SIGKILL)
                if plan == "statsd+relayd":
                    relayd_old = self.pid_of("relayd")
                    os.kill(relayd_old, signal.SIGKILL)
                ms, own_ms, after = self.first_metrics(t0, old)
                statsd_pid = self.pid_of("statsd")
                statsd_pids.append(statsd_pid)
                times.append((ms, own_ms))
                what = "round %d (%s), first scrape" % (i, plan)
                self.assert_monotonic(before, after, what)
                if plan == "statsd+relayd":
                    new = wait_until(lambda: (self.pid_of("relayd") not in
                                              (None, relayd_old)
                                              and self.pid_of("relayd")),
                                     timeout=15, what="relayd restarted")
                    wait_until(lambda: self.heard("relayd", new),
                               timeout=15,
                               what="statsd hears the new relayd")
                # media goes on after statsd is back
                time.sleep(0.5)
                sent, got, gap = flow.finish()
                lost_calls = 0 if self.call_alive(cid) else 1
            finally:
                flow.stop_tx.set()
                flow.stop_rx.set()
                a.close()
                b.close()
            self.ng_cmd({"command": "delete", "call-id": cid,
                         "from-tag": "ta"}, timeout=3)
            print("FAULT statsd kill=%d plan=%s restart_ms=%d exec_ms=%d "
                  "gap_ms=%d lost_pkts=%d lost_calls=%d backwards=0" %
                  (i, plan, round(ms), round(own_ms), round(gap),
                   sent - got, lost_calls))
            sys.stdout.flush()
            # statsd hears every daemon again, saves: still no lower
            wait_until(lambda: (self.health() or {}).get("status") == "up",
                       timeout=15, what="statsd /health up again")
            h = self.health()
            self.assertTrue(h["daemons"]["statsd"]["restored"], h)
            time.sleep(SAVE_S)
            later = self.scrape()
            self.assert_monotonic(after, later, "round %d, later" % i)
            if plan == "statsd+relayd":
                continue	# relayd's own recovery: test_fault_relayd
            # statsd is not on the media path
            self.assertEqual(sent - got, 0, "round %d: packets lost" % i)
            self.assertEqual(lost_calls, 0, "round %d: call lost" % i)
            # exactly the packets relayd relayed: none lost by statsd's
            # restart, none counted twice
            key = ("rtpsec_packets_relayed_total", {"daemon": "relayd"})
            self.assertEqual(later.get(key[0], **key[1]) -
                             base.get(key[0], **key[1]), got,
                             "round %d: relayed packets counted" % i)
            key = ("rtpsec_ng_requests_total",
                   {"daemon": "ctld", "command": "ping"})
            self.assertEqual(later.get(key[0], **key[1]),
                             base.get(key[0], **key[1]),
                             "round %d: ng pings counted" % i)

        # the counters kept counting through all of it
        self.traffic("end")
        time.sleep(SAVE_S)
        last = self.scrape()
        self.assert_monotonic(first, last, "whole run")
        for name, labels in (("rtpsec_packets_relayed_total",
                              {"daemon": "relayd"}),
                             ("rtpsec_ng_requests_total",
                              {"daemon": "ctld", "command": "ping"})):
            self.assertGreater(last.get(name, **labels),
                               first.get(name, **labels), name)
        # the state statsd keeps in Redis
        r = Resp(os.path.join(self.run_dir, "redis.sock"))
        try:
            fields = r.cmd("HKEYS", "rtpsec:stats:" + NODE)
        finally:
            r.close()
        self.assertIn(b"statsd", fields)
        self.assertTrue(any(f.startswith(b"relayd/") for f in fields),
                        fields)
        self.assertEqual(self.pid_of("statsd"), statsd_pid,
                         "statsd restarted on its own")
        # sanitizer builds: every statsd ran clean
        marks = ["==%d==" % p for p in statsd_pids]
        bad = [l for l in self.log_tail(1 << 30).splitlines()
               if ("runtime error" in l and "statsd/" in l) or
               any(m in l for m in marks)]
        self.assertEqual(bad, [], "\n".join(bad))
        if times:
            ms = [t for t, _ in times]
            log("statsd SIGKILL -> /metrics (ms) per kill: %s; min %.0f, "
                "max %.0f, mean %.0f; from exec: %s" % (
                    ", ".join("%.0f" % t for t in ms), min(ms), max(ms),
                    sum(ms) / len(ms),
                    ", ".join("%.0f" % o for _, o in times)))


if __name__ == "__main__":
    unittest.main()
