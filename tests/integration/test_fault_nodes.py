"""
Issue 5, two relay nodes: ctld spreads calls over two relayd nodes; when
one dies for good (kill -9 by PID, no supervisor), the other adopts its
calls from Redis (node_adopt) and their media continues on the same
addresses.

Not under supervisord: Redis, keyd, ctld and two relayd processes started
directly (cluster.py's Cluster, extended): relayd A, node_id "relayA",
interface 127.0.0.2, and relayd B, node_id "relayB", interface 127.0.0.3,
each with its own configuration file (own relayd_ctl/relayd_pub endpoints
and port window); ctld with
  relay_nodes = relayA=<A's ctl>,<A's pub> relayB=<B's ctl>,<B's pub>
  relay_dead_ms = 2000
The call endpoints are 127.0.0.5 (caller) and 127.0.0.6 (callee).

  test_node_failover  10 plain calls with media both ways (mediaprobe);
        both nodes got some (relayd call_list on each).  Then
        min(FAULT_KILLS, 4) rounds: kill -9 the node holding calls (A
        first), assert that within relay_dead_ms + 2 s the survivor lists
        every call of the dead node, that the calls' media continues (the
        relay addresses stay those of the dead node, 127.0.0.2:ports, which
        the survivor now binds), and that a new call works (on the
        survivor); then the dead node is started again, empty, for the
        next round, which kills the other node.

  test_node_failover_sdes  SDES-SRTP calls on both nodes (keyd installs
        each call's keys in the node ctld named for it: keyd reads
        relay_nodes too): 8 calls, SRTP towards the callee only ("sdes")
        or on both legs ("sdes_both"), media both ways with no
        authentication failure.  relayd A is killed for good: B adopts
        A's calls and gets their keys back from keyd (srtp_unwrap), and
        their media continues with no authentication failure; then an
        adopted call of each kind is re-offered and re-answered (keyd
        pushes its keys to B, the node ctld names now; to A they would
        fail) with its keys and relay ports unchanged, and its media goes
        on; a new SDES call goes to B.

Prints one line per node death:
  FAULT node kill=i restart_ms=<adoption ms> gap_ms=.. lost_pkts=..
  lost_calls=.. auth_fail=..
and for the SDES test
  FAULT node-sdes kill=1 restart_ms=.. gap_ms=.. lost_pkts=.. lost_calls=..
  auth_fail=..
"""
import os
import signal
import subprocess
import time
import unittest

from cluster import B, Cluster, _media_window, log, wait_until
from cluster import make_sdp, parse_sdp
from faults import (SUITE, MediaProbe, NgClient, ZmqClient, analyse,
                    calls_of, delete_calls, fault_kills, fault_line, ok,
                    pick_crypto, setup_call, srtp_sdp, summary, wait_for)

DEAD_MS = 2000
NODES = {"relayA": "127.0.0.2", "relayB": "127.0.0.3"}
CALLER, CALLEE = "127.0.0.5", "127.0.0.6"


class NodesCluster(Cluster):
    """Cluster with keyd, ctld and two relayd nodes (no statsd)."""

    def __init__(self):
        super().__init__({"ctld": {"relay_dead_ms": DEAD_MS}},
                         daemons=("keyd", "relayA", "relayB", "ctld"))
        self.zmq = ZmqClient()
        self.dead = set()

    def _write_config(self):
        # the base configuration (ports, run_dir) first, then one file
        # per node and relay_nodes for ctld
        super()._write_config()
        self.node_conf = {}
        nodes = []
        for n, addr in NODES.items():
            lo, hi = _media_window(200)
            ctl, pub = "ipc://%s.sock" % n, "ipc://%s-pub.sock" % n
            nodes.append("%s=%s,%s" % (n, ctl, pub))
            conf = {sec: dict(opts) for sec, opts in self.config.items()}
            conf["common"].update({"node_id": n, "relayd_ctl": ctl,
                                   "relayd_pub": pub})
            conf["relayd"].update({"interface": addr, "port_min": lo,
                                   "port_max": hi})
            path = os.path.join(self.run_dir, "%s.conf" % n)
            self._write_ini(path, conf)
            self.node_conf[n] = (path, ctl, lo, hi)
        # ctld and keyd read it (keyd installs a call's SDES keys in its
        # node); keyd's default node is the first listed, relayd_ctl is
        # then unused
        self.config["ctld"]["relay_nodes"] = " ".join(nodes)
        self.config["common"]["relayd_ctl"] = "ipc://relayA.sock"
        self.config["common"]["relayd_pub"] = "ipc://relayA-pub.sock"
        self._write_ini(self.conf, self.config)

    @staticmethod
    def _write_ini(path, conf):
        with open(path, "w") as f:
            for sec, opts in conf.items():
                f.write("[%s]\n" % sec)
                for k, v in opts.items():
                    if isinstance(v, bool):
                        v = "yes" if v else "no"
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")

    def _start_daemon(self, d):
        if d not in NODES:
            return super()._start_daemon(d)
        logf = open(os.path.join(self.run_dir, d + ".log"), "ab")
        env = dict(os.environ)
        if self.asan:
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        p = subprocess.Popen([os.path.join(B, "relayd"), "-f",
                              self.node_conf[d][0]], stdout=logf,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        logf.close()
        self.procs[d] = p
        self.dead.discard(d)

    def endpoint(self, d):
        if d in NODES:
            return "ipc://%s/%s.sock" % (self.run_dir, d)
        return super().endpoint(d)

    def wait_ready(self, d, timeout=15):
        if d not in NODES:
            return super().wait_ready(d, timeout)
        if not wait_for(lambda: self.node_request(d, "ping", 300) and
                        self.procs[d].poll() is None, timeout, 0.1):
            self.dump_logs([d])
            raise RuntimeError("%s not ready" % d)

    def node_request(self, d, op, timeout_ms=1000, **fields):
        r = self.zmq.request(self.endpoint(d), op, timeout_ms, **fields)
        return r if r is not None and r.get("ok") else None

    def node_calls(self, d):
        r = self.node_request(d, "call_list", 2000)
        return None if r is None else set(r["calls"])

    def kill_node(self, d):
        p = self.procs[d]
        os.kill(p.pid, signal.SIGKILL)
        p.wait(5)
        self.dead.add(d)

    def check_alive(self):
        for d, p in self.procs.items():
            if d not in self.dead and p.poll() is not None:
                self.dump_logs()
                raise AssertionError("%s exited (%s)" % (d, p.returncode))

    def stop(self, check=True):
        for d in ("ctld", "relayA", "relayB", "keyd"):
            p = self.procs.get(d)
            if p is not None and p.poll() is None:
                self._stop_proc(p)
        if self._ng_sock is not None:
            self._ng_sock.close()
            self._ng_sock = None
        if self._resp is not None:
            self._resp.close()
            self._resp = None
        if self.redis is not None:
            self._stop_proc(self.redis)
            self.redis_log.close()


def reoffer(ngc, cid, kind, streams):
    """Re-offer and re-answer of an SDES call setup_call made ("sdes" or
    "sdes_both"), with the same SDPs and keys: returns a list of what
    changed or failed (empty: the relay ports and the keys towards both
    parties stayed)."""
    a, b = streams
    bad = []
    offer = {"command": "offer", "call-id": cid, "from-tag": "ta",
             "to-tag": "tb"}
    if kind == "sdes":
        offer["sdp"] = make_sdp(a["laddr"], [("audio", a["lport"], "0")])
        offer["transport-protocol"] = "RTP/SAVP"
    else:
        offer["sdp"] = srtp_sdp(a["laddr"], a["lport"], [
            "1 %s inline:%s" % (SUITE, a["tx"][1])], "alice")
    r = ngc.cmd(offer)
    if not ok(r):
        return ["re-offer %s: %r" % (cid, r)]
    om = parse_sdp(r["sdp"])["media"][0]
    if om["port"] != b["dport"]:
        bad.append("re-offer moved %s: port %r, was %r" %
                   (cid, om["port"], b["dport"]))
    tag, key = pick_crypto(om)
    if (SUITE, key) != b["rx"]:
        bad.append("re-offer changed %s's key towards the callee" % cid)
    r = ngc.cmd({"command": "answer", "call-id": cid, "from-tag": "ta",
                 "to-tag": "tb", "sdp": srtp_sdp(
                     b["laddr"], b["lport"], ["%d %s inline:%s" %
                                              (tag, SUITE, b["tx"][1])],
                     "bob")})
    if not ok(r):
        return bad + ["re-answer %s: %r" % (cid, r)]
    am = parse_sdp(r["sdp"])["media"][0]
    if am["port"] != a["dport"]:
        bad.append("re-answer moved %s: port %r, was %r" %
                   (cid, am["port"], a["dport"]))
    if kind == "sdes_both" and (SUITE, pick_crypto(am)[1]) != a["rx"]:
        bad.append("re-answer changed %s's key towards the caller" % cid)
    return bad


class NodesFaultTest(unittest.TestCase):
    maxDiff = None

    def test_node_failover(self):
        rounds = min(fault_kills(), 4)
        with NodesCluster() as c:
            ngc = NgClient(c.ng_port)
            self.addCleanup(ngc.close)
            streams = []
            for i in range(10):
                streams += setup_call(ngc, "fn-%d@test" % i, "plain",
                                      a_host=CALLER, b_host=CALLEE)
            cids = set(calls_of(streams))
            where = {n: c.node_calls(n) or set() for n in NODES}
            relay_addrs = sorted({s["daddr"] for s in streams})
            log("calls per node: %r; relay addresses in the SDP: %r" %
                ({n: len(v) for n, v in where.items()}, relay_addrs))
            self.assertEqual(where["relayA"] | where["relayB"], cids,
                             "calls the nodes do not list")
            self.assertTrue(where["relayA"] and where["relayB"],
                            "ctld did not spread the calls: %r" %
                            {n: sorted(v) for n, v in where.items()})

            probe = MediaProbe(streams, seconds=30 + rounds * 12)
            faults, bad, news = [], [], []
            try:
                time.sleep(2.0)
                victim = "relayA"
                for k in range(rounds):
                    other = "relayB" if victim == "relayA" else "relayA"
                    theirs = c.node_calls(victim) or set()
                    t_ms = probe.now_ms()
                    t0 = time.monotonic()
                    c.kill_node(victim)
                    adopted = wait_for(
                        lambda: (c.node_calls(other) or set()) >= theirs,
                        DEAD_MS / 1000 + 2, 0.05)
                    adopt_ms = (time.monotonic() - t0) * 1000
                    if not adopted:
                        bad.append("round %d: %s did not adopt %s's calls "
                                   "within %d ms (lists %r)" %
                                   (k + 1, other, victim, DEAD_MS + 2000,
                                    sorted(c.node_calls(other) or [])))
                    log("round %d: killed %s (%d calls), %s lists them "
                        "after %.0f ms" % (k + 1, victim, len(theirs),
                                           other, adopt_ms))
                    faults.append({"t_ms": t_ms, "restart_ms": adopt_ms,
                                   "victim": victim, "calls": theirs})
                    # a new call goes to the survivor
                    cid = "fn-new-%d@test" % k
                    try:
                        ns = setup_call(ngc, cid, "plain", a_host=CALLER,
                                        b_host=CALLEE)
                        news.append(cid)
                        chk = MediaProbe(ns, seconds=1.5)
                        nres, _ = chk.finish(10)
                        for sid, r in nres.items():
                            if r["received"] < 40:
                                bad.append("round %d: new call %s got %d "
                                           "packets" % (k + 1, sid,
                                                        r["received"]))
                        if {s["daddr"] for s in ns} != {NODES[other]}:
                            bad.append("round %d: new call on %r, not on "
                                       "the survivor" %
                                       (k + 1, {s["daddr"] for s in ns}))
                    except AssertionError as e:
                        bad.append("round %d: new call: %s" % (k + 1, e))
                    time.sleep(2.0)
                    # the dead node comes back, empty, for the next round
                    if k + 1 < rounds:
                        c._start_daemon(victim)
                        c.wait_ready(victim)
                        time.sleep(1.0)
                        victim = other
                time.sleep(1.0)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(ngc, sorted(cids) + news)
            logs = {n: c.log_text(n)[-1500:] for n in NODES}

        lines = []
        for i, f in enumerate(faults):
            only = {sid for s in streams for sid in [s["id"]]
                    if s["id"].rsplit("/", 1)[0] in f["calls"]}
            a = analyse(streams, res, dur, faults, only=only)[i]
            rest = analyse(streams, res, dur, faults,
                           only={s["id"] for s in streams} - only)[i]
            lines.append(fault_line("node", i + 1, a))
            log("round %d (%s): adopted calls: gap %d ms, lost %d packets, "
                "%d calls stopped; the survivor's own calls: gap %d ms, "
                "lost %d" % (i + 1, f["victim"], a["gap_ms"], a["lost_pkts"],
                             a["lost_calls"], rest["gap_ms"],
                             rest["lost_pkts"]))
            if a["lost_calls"]:
                bad.append("round %d: calls stopped: %r" %
                           (i + 1, a["dead_calls"]))
            if a["gap_ms"] >= DEAD_MS + 2000:
                bad.append("round %d: gap %d ms" % (i + 1, a["gap_ms"]))
            if rest["gap_ms"] or rest["lost_calls"]:
                bad.append("round %d: the survivor's own calls were "
                           "disturbed: gap %d ms, stopped %r" %
                           (i + 1, rest["gap_ms"], rest["dead_calls"]))
        log("totals: %r" % summary(res))
        if bad:
            for n, t in logs.items():
                log("----- %s.log (tail)\n%s" % (n, t))
        self.assertEqual(bad, [], "\n".join(bad))


    def test_node_failover_sdes(self):
        kinds = ("sdes", "sdes", "sdes_both", "sdes_both")
        with NodesCluster() as c:
            ngc = NgClient(c.ng_port)
            self.addCleanup(ngc.close)
            by_call, kind_of = {}, {}
            for i in range(8):
                # round robin: each kind lands on both nodes
                cid = "fs-%d@test" % i
                kind_of[cid] = kinds[i % 4]
                by_call[cid] = setup_call(ngc, cid, kind_of[cid],
                                          a_host=CALLER, b_host=CALLEE)
            streams = [x for v in by_call.values() for x in v]
            cids = set(by_call)
            where = {n: c.node_calls(n) or set() for n in NODES}
            log("SDES calls per node: %r" %
                {n: sorted(v) for n, v in where.items()})
            self.assertEqual(where["relayA"] | where["relayB"], cids,
                             "calls the nodes do not list")
            for n in NODES:
                self.assertEqual({kind_of[x] for x in where[n]},
                                 set(kinds), "kinds on %s" % n)
            theirs = where["relayA"]

            probe = MediaProbe(streams, seconds=40)
            bad = []
            news = []
            try:
                time.sleep(2.5)
                t_ms = probe.now_ms()
                t0 = time.monotonic()
                c.kill_node("relayA")
                adopted = wait_for(
                    lambda: (c.node_calls("relayB") or set()) >= theirs,
                    DEAD_MS / 1000 + 2, 0.05)
                adopt_ms = (time.monotonic() - t0) * 1000
                if not adopted:
                    bad.append("relayB did not adopt relayA's calls "
                               "within %d ms" % (DEAD_MS + 2000))
                log("killed relayA (%d SDES calls), relayB lists them "
                    "after %.0f ms" % (len(theirs), adopt_ms))
                time.sleep(3.0)
                # a re-offer of an adopted call of each kind: keyd pushes
                # its keys to the node that holds it now
                t_re = probe.now_ms()
                redone = []
                for k in kinds[1:3]:
                    cid = sorted(x for x in theirs if kind_of[x] == k)[0]
                    redone.append(cid)
                    bad += reoffer(ngc, cid, k, by_call[cid])
                log("re-offered %r on relayB" % redone)
                # a new SDES call goes to the survivor
                try:
                    ns = setup_call(ngc, "fs-new@test", "sdes_both",
                                    a_host=CALLER, b_host=CALLEE)
                    news.append("fs-new@test")
                    chk = MediaProbe(ns, seconds=1.5)
                    nres, _ = chk.finish(10)
                    for sid, r in nres.items():
                        if r["received"] < 40 or r["auth_failed"]:
                            bad.append("new SDES call %s: %d packets, %d "
                                       "auth failures" % (
                                           sid, r["received"],
                                           r["auth_failed"]))
                    if {x["daddr"] for x in ns} != {NODES["relayB"]}:
                        bad.append("new SDES call on %r, not on relayB" %
                                   {x["daddr"] for x in ns})
                except AssertionError as e:
                    bad.append("new SDES call: %s" % e)
                time.sleep(3.0)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(ngc, sorted(cids) + news)
            logs = {n: c.log_text(n)[-1500:] for n in ("relayB", "keyd",
                                                        "ctld")}

        ids_a = {x["id"] for x in streams
                 if x["id"].rsplit("/", 1)[0] in theirs}
        ids_b = {x["id"] for x in streams} - ids_a
        fault = {"t_ms": t_ms, "restart_ms": adopt_ms}
        a = analyse(streams, res, dur, [fault], only=ids_a)[0]
        rest = analyse(streams, res, dur, [fault], only=ids_b)[0]
        fault_line("node-sdes", 1, a)
        # before the kill: media both ways on every stream, no failure
        before = {sid: (len([x for x in r["auth_fail_ms"] if x < t_ms]),
                        r["first_rx_ms"])
                  for sid, r in res.items()}
        # after the re-offers: the re-offered calls' streams
        re_ids = {x["id"] for cid in redone for x in by_call[cid]}
        re_auth = sum(len([x for x in res[sid]["auth_fail_ms"]
                           if x >= t_re]) for sid in re_ids)
        re_late = [sid for sid in re_ids
                   if res[sid]["last_rx_ms"] < dur - 500]
        log("SDES take-over: adopted calls: gap %d ms, lost %d packets, "
            "%d calls stopped, %d auth failures (%d after the take-over); "
            "relayB's own calls: gap %d ms, lost %d, %d auth failures; "
            "re-offered calls: %d auth failures after the re-offer" %
            (a["gap_ms"], a["lost_pkts"], a["lost_calls"], a["auth_fail"],
             a["auth_late"], rest["gap_ms"], rest["lost_pkts"],
             rest["auth_fail"], re_auth))
        log("totals: %r" % summary(res))
        for sid, (af, first) in sorted(before.items()):
            if af:
                bad.append("%s: %d auth failures before the kill" %
                           (sid, af))
            if first < 0 or first >= t_ms:
                bad.append("%s: no media before the kill" % sid)
        if a["lost_calls"] or rest["lost_calls"]:
            bad.append("calls stopped: %r" % (a["dead_calls"] +
                                              rest["dead_calls"]))
        if a["auth_fail"]:
            bad.append("adopted SDES calls: %d auth failures after the "
                       "kill" % a["auth_fail"])
        if a["gap_ms"] >= DEAD_MS + 2000:
            bad.append("adopted SDES calls: gap %d ms" % a["gap_ms"])
        if rest["gap_ms"] or rest["auth_fail"]:
            bad.append("relayB's own SDES calls disturbed: gap %d ms, %d "
                       "auth failures" % (rest["gap_ms"], rest["auth_fail"]))
        if re_auth or re_late:
            bad.append("re-offered calls: %d auth failures, media stopped "
                       "on %r" % (re_auth, sorted(re_late)))
        if bad:
            for n, t in logs.items():
                log("----- %s.log (tail)\n%s" % (n, t))
        self.assertEqual(bad, [], "\n".join(bad))


if __name__ == "__main__":
    unittest.main()
