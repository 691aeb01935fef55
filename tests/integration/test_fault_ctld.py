"""
Issue 5, ctld and Redis: faults of the control plane with calls in
progress, under supervisord (tools/run.sh), faults injected by PID.

  test_ctld_kills   6 plain and 6 SDES-SRTP calls (SDES towards the callee,
        from the caller, and on both legs) with media both ways
        (mediaprobe, 20 ms packets).  FAULT_KILLS (default 5) times:
          - an offer for a new call, and SIGKILL to ctld's PID right after
            its reply; once supervisord's new ctld answers, the same
            datagram again (same cookie, as Kamailio retransmits): the
            reply must be byte for byte the same (a plain offer: ctld
            kept it in Redis) or carry the same a=crypto lines (an SDES
            offer, every other kill: its reply is never stored, and the
            retransmission runs as a re-offer of the restored call), and
            the call is made once (relayd holds its two legs, not four;
            same ports);
          - ng answers again (ng_back_ms: from the kill to the first pong)
            and so does the ZeroMQ API (zmq_back_ms);
          - every call made before is still listed by ctld, answers a
            query, and a re-offer and answer of one plain and one SDES call
            keep their ports (and the SDES keys) while media flows.
        At the end every call is deleted: gone from relayd and Redis.
        Per kill: media gap (the longest interruption of any stream), the
        packets lost and the calls that stopped, all zero expected beyond
        the normal jitter.
  test_redis_outage Redis stopped (`supervisorctl stop redis`: process and
        socket gone) for REDIS_OUTAGE_S (default 30) s with calls running;
        during the outage calls are offered, answered and deleted; Redis is
        started again (empty: it saves nothing), and within a few seconds
        every live call's record is back and the deleted ones are absent;
        media never stops.  records_back_ms counts from the start command,
        Redis's own start-up included.

Prints one line per kill:
  FAULT ctld kill=i ng_back_ms=.. zmq_back_ms=.. gap_ms=.. lost_pkts=..
  lost_calls=.. retrans_same=..
and one for the outage:
  FAULT redis outage_s=.. records_back_ms=.. gap_ms=.. lost_pkts=..
  lost_calls=..
"""
import os
import subprocess
import time
import unittest

from cluster import B, Cluster, bdecode, bencode, log, make_sdp, parse_sdp
from faults import (Kamailio, MediaProbe, NgClient, SupCluster, ZmqClient,
                    kamailio_streams, kamailio_usable, analyse, calls_of,
                    delete_calls, endpoint_port, fault_kills, kill_pid, ok,
                    pick_crypto, setup_call, srtp_sdp, summary, wait_for,
                    SUITE)

MAX_GAP_MS = 300        # a ctld or Redis fault must not touch media
NG_BACK_MS = 1000       # issue 5: ng answers again within 1 s
SETTLE_S = 2.0
REDIS_OUTAGE_S = float(os.environ.get("REDIS_OUTAGE_S", "30"))


def ports_of(reply):
    return [m["port"] for m in parse_sdp(reply["sdp"])["media"]]


class CtldFaultTest(unittest.TestCase):
    maxDiff = None

    # ---- helpers
    @staticmethod
    def kill_ctld(c, timeout=10):
        """SIGKILL to ctld's PID; returns (old pid, new pid, ms from the
        kill until ng answered a ping), polled every 10 ms (faults'
        SupCluster.kill() waits 300 ms per ping)."""
        old = c.pid_of("ctld")
        if old is None:
            raise AssertionError("ctld is not running:\n" + c.log_tail())
        t0 = time.monotonic()
        kill_pid(old)
        new = wait_for(lambda: (c.pid_of("ctld") not in (None, old) and
                                c.pid_of("ctld")), timeout, 0.002)
        if new is None:
            raise AssertionError("ctld was not restarted:\n" + c.log_tail())
        if not wait_for(lambda: c.ngc.pong(timeout=0.01), timeout, 0):
            raise AssertionError("ctld does not answer:\n" + c.log_tail())
        c.t_kill = t0
        return old, new, (time.monotonic() - t0) * 1000

    def relay_legs(self, c, cid):
        r = c.request("relayd", "call_query", timeout_ms=1000, call=cid)
        return None if r is None or not r.get("ok") else len(r["legs"])

    def offer_then_kill(self, c, k):
        """An offer, ctld killed right after its reply, the offer's
        datagram again after the restart.  Even k: an SDES offer (RTP/SAVP
        towards the callee), whose reply carries keys and so is not kept
        in Redis: the retransmission runs as a re-offer of the restored
        call, and must give the same ports and a=crypto lines.  Returns
        (same reply, legs relayd holds, cid, ports of the first and of the
        second reply, restart_ms, old pid, new pid)."""
        cid = "fc-retrans-%d@test" % k
        pa = endpoint_port("127.0.0.2")
        d = {"command": "offer", "call-id": cid, "from-tag": "ra",
             "sdp": make_sdp("127.0.0.2", [("audio", pa, "0")])}
        sdes = k % 2 == 0
        if sdes:
            d["transport-protocol"] = "RTP/SAVP"
        cookie = ("rtx%d_%d" % (os.getpid(), k)).encode()
        data = cookie + b" " + bencode(d)
        s = c.ngc.s
        s.sendto(data, ("127.0.0.1", c.ng_port))
        s.settimeout(3.0)
        while True:
            r, _ = s.recvfrom(262144)
            if r.startswith(cookie + b" "):
                break
        first = r
        old, new, restart_ms = self.kill_ctld(c)
        s.sendto(data, ("127.0.0.1", c.ng_port))
        s.settimeout(3.0)
        while True:
            r, _ = s.recvfrom(262144)
            if r.startswith(cookie + b" "):
                break
        r1 = bdecode(first[len(cookie) + 1:])
        r2 = bdecode(r[len(cookie) + 1:])
        if sdes:
            def crypto(rep):
                return [l for l in rep["sdp"].splitlines()
                        if l.startswith("a=crypto:")]
            same = (ok(r1) and ok(r2) and crypto(r1) == crypto(r2) and
                    len(crypto(r1)) > 0)
        else:
            same = r == first
        return (same, self.relay_legs(c, cid), cid, ports_of(r1),
                ports_of(r2), restart_ms, old, new)

    def reoffer(self, c, cid, kind, streams):
        """Re-offer and answer of a call made by setup_call, with the same
        SDPs: the relay ports (and SDES keys towards the callee) stay."""
        a, b = streams
        if kind == "plain":
            offer_sdp = make_sdp(a["laddr"], [("audio", a["lport"], "0")])
            answer_sdp = make_sdp(b["laddr"], [("audio", b["lport"], "0")],
                                  origin_user="bob")
        else:
            offer_sdp = make_sdp(a["laddr"], [("audio", a["lport"], "0")])
            answer_sdp = None
        offer = {"command": "offer", "call-id": cid, "from-tag": "ta",
                 "sdp": offer_sdp}
        if kind == "sdes":
            offer["transport-protocol"] = "RTP/SAVP"
        r = c.ngc.cmd(offer)
        self.assertTrue(ok(r), "re-offer %s: %r" % (cid, r))
        om = parse_sdp(r["sdp"])["media"][0]
        self.assertEqual(om["port"], b["dport"], "re-offer moved %s" % cid)
        if kind == "sdes":
            tag, key = pick_crypto(om)
            self.assertEqual((SUITE, key), b["rx"],
                             "re-offer changed %s's key" % cid)
            answer_sdp = srtp_sdp(b["laddr"], b["lport"], ["%d %s inline:%s"
                                  % (tag, SUITE, b["tx"][1])], "bob")
        r = c.ngc.cmd({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb", "sdp": answer_sdp})
        self.assertTrue(ok(r), "answer %s: %r" % (cid, r))
        self.assertEqual(parse_sdp(r["sdp"])["media"][0]["port"], a["dport"],
                         "answer moved %s" % cid)

    def zmq_back(self, c, t0):
        if not wait_for(lambda: c.ping("ctld"), 5, 0.01):
            return -1
        return (time.monotonic() - t0) * 1000

    # ---- tests
    def test_ctld_kills(self):
        kills = fault_kills()
        with SupCluster() as c:
            streams = []
            kinds = {}
            by_call = {}
            for i in range(6):
                cid = "fc-plain-%d@test" % i
                kinds[cid] = "plain"
                by_call[cid] = setup_call(c.ngc, cid, "plain")
            sk = ["sdes", "sdes_caller", "sdes_both"]
            for i in range(6):
                cid = "fc-sdes-%d@test" % i
                kinds[cid] = sk[i % 3]
                by_call[cid] = setup_call(c.ngc, cid, sk[i % 3])
            for v in by_call.values():
                streams += v
            cids = set(calls_of(streams))
            probe = MediaProbe(streams, seconds=10 + kills * (SETTLE_S + 4))
            faults = []
            retrans = []
            try:
                time.sleep(1.5)
                for k in range(kills):
                    t_ms = probe.now_ms()
                    same, legs, rcid, p1, p2, restart_ms, old, new = \
                        self.offer_then_kill(c, k + 1)
                    zmq_ms = self.zmq_back(c, c.t_kill)
                    retrans.append(rcid)
                    listed = c.ng_calls() or set()
                    missing = sorted(cids - listed)
                    qbad = [cid for cid in sorted(cids) if not ok(
                        c.ngc.cmd({"command": "query", "call-id": cid}))]
                    # one plain and one SDES call re-offered and answered
                    pc = "fc-plain-%d@test" % (k % 6)
                    sc = "fc-sdes-%d@test" % (3 * (k % 2))  # kind "sdes"
                    self.reoffer(c, pc, "plain", by_call[pc])
                    self.reoffer(c, sc, "sdes", by_call[sc])
                    log("kill %d: ctld pid %d -> %d, ng back after %.0f ms, "
                        "ZeroMQ after %.0f ms; retransmitted offer: same "
                        "reply %s, relayd legs %s, ports %r/%r%s%s" %
                        (k + 1, old, new, restart_ms, zmq_ms, same, legs,
                         p1, p2,
                         "; ctld lacks %r" % missing if missing else "",
                         "; query failed %r" % qbad if qbad else ""))
                    faults.append({"t_ms": t_ms, "restart_ms": restart_ms,
                                   "zmq_ms": zmq_ms, "same": same,
                                   "legs": legs, "ports": (p1, p2),
                                   "missing": missing, "qbad": qbad})
                    time.sleep(SETTLE_S)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(c.ngc, sorted(cids) + retrans)
            gone_relay = wait_for(lambda: c.relay_calls() is not None and
                                  not (c.relay_calls() &
                                       (cids | set(retrans))), 3)
            left_redis = [cid for cid in sorted(cids) + retrans
                          if c.redis_cmd("EXISTS",
                                         "rtpsec:call:{%s}" % cid)]
            log("run.log tail:\n" + c.log_tail(1500))

        per = analyse(streams, res, dur, faults)
        bad = []
        for i, a in enumerate(per):
            line = ("FAULT ctld kill=%d ng_back_ms=%d zmq_back_ms=%d "
                    "gap_ms=%d lost_pkts=%d lost_calls=%d retrans_same=%d" %
                    (i + 1, round(a["restart_ms"]), round(a["zmq_ms"]),
                     a["gap_ms"], a["lost_pkts"], a["lost_calls"],
                     int(a["same"])))
            print(line)
            if a["restart_ms"] > NG_BACK_MS:
                bad.append("kill %d: ng back after %d ms" %
                           (i + 1, a["restart_ms"]))
            if a["zmq_ms"] < 0 or a["zmq_ms"] > NG_BACK_MS + 200:
                bad.append("kill %d: ZeroMQ API back after %d ms" %
                           (i + 1, a["zmq_ms"]))
            if a["gap_ms"] >= MAX_GAP_MS:
                bad.append("kill %d: media gap %d ms" % (i + 1, a["gap_ms"]))
            if a["lost_calls"]:
                bad.append("kill %d: calls stopped: %r" %
                           (i + 1, a["dead_calls"]))
            if a["auth_fail"]:
                bad.append("kill %d: %d SRTP auth failures" %
                           (i + 1, a["auth_fail"]))
            if not a["same"] or a["legs"] != 2 or \
                    a["ports"][0] != a["ports"][1]:
                bad.append("kill %d: retransmitted offer: same reply %s, "
                           "relayd legs %s, ports %r" %
                           (i + 1, a["same"], a["legs"], a["ports"]))
            if a["missing"] or a["qbad"]:
                bad.append("kill %d: calls lost by ctld %r, query failed %r"
                           % (i + 1, a["missing"], a["qbad"]))
        log("totals: %r" % summary(res))
        if not gone_relay:
            bad.append("relayd still holds deleted calls")
        if left_redis:
            bad.append("records of deleted calls left in Redis: %r" %
                       left_redis)
        self.assertEqual(bad, [], "\n".join(bad))

    def supervisorctl(self, c, *args):
        r = subprocess.run(["supervisorctl", "-s", "unix://%s/supervisor.sock"
                            % c.run_dir] + list(args), capture_output=True,
                           text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def test_redis_outage(self):
        with SupCluster() as c:
            by_call = {}
            for i in range(4):
                cid = "fr-plain-%d@test" % i
                by_call[cid] = setup_call(c.ngc, cid, "plain")
            for i, kind in enumerate(("sdes", "sdes_both")):
                cid = "fr-sdes-%d@test" % i
                by_call[cid] = setup_call(c.ngc, cid, kind)
            streams = [s for v in by_call.values() for s in v]
            live = set(by_call)
            probe = MediaProbe(streams, seconds=REDIS_OUTAGE_S + 25)
            try:
                time.sleep(1.5)
                for cid in live:
                    self.assertTrue(c.redis_cmd("EXISTS",
                                                "rtpsec:call:{%s}" % cid))
                pid = c.pid_of("redis")
                t_ms = probe.now_ms()
                rc, out = self.supervisorctl(c, "stop", "redis")
                self.assertEqual(rc, 0, out)
                self.assertTrue(wait_for(lambda: c.pid_of("redis") is None,
                                         10), "redis still runs")
                sock = os.path.join(c.run_dir, "redis.sock")
                log("Redis (pid %d) stopped: socket %s" %
                    (pid, "still there" if os.path.exists(sock) else "gone"))
                # control goes on from memory: new calls, answers, deletes
                deleted, made = [], []
                t_end = time.monotonic() + REDIS_OUTAGE_S
                n = 0
                while time.monotonic() < t_end:
                    cid = "fr-out-%d@test" % n
                    n += 1
                    setup_call(c.ngc, cid, "plain")
                    made.append(cid)
                    q = c.ngc.cmd({"command": "query", "call-id":
                                   "fr-plain-0@test"})
                    self.assertTrue(ok(q), "query during outage: %r" % q)
                    if n % 2 == 0:
                        r = c.ngc.cmd({"command": "delete",
                                       "call-id": made[-2]})
                        self.assertTrue(ok(r), "delete: %r" % r)
                        deleted.append(made[-2])
                    time.sleep(2.0)
                # one of the first calls ends during the outage too
                r = c.ngc.cmd({"command": "delete",
                               "call-id": "fr-plain-3@test"})
                self.assertTrue(ok(r), "delete: %r" % r)
                deleted.append("fr-plain-3@test")
                live -= {"fr-plain-3@test"}
                live |= set(made) - set(deleted)
                self.assertTrue(c.ngc.pong(), "ng during the outage")
                # from the start command: supervisorctl returns once
                # Redis has run startsecs (1 s)
                t_back = time.monotonic()
                rc, out = self.supervisorctl(c, "start", "redis")
                self.assertEqual(rc, 0, out)
                if c._resp is not None:
                    c._resp.close()
                    c._resp = None

                def records():
                    try:
                        return all(c.redis_cmd("EXISTS", "rtpsec:call:{%s}"
                                               % cid) for cid in live)
                    except (OSError, ConnectionError):
                        return False
                back = wait_for(records, 10, 0.05)
                back_ms = (time.monotonic() - t_back) * 1000
                missing = [cid for cid in sorted(live) if not
                           c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid)]
                extra = [cid for cid in deleted if
                         c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid)]
                relay_live = c.relay_calls() or set()
                time.sleep(2.0)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(c.ngc, sorted(live))
            log("run.log tail:\n" + c.log_tail(2000))
        # the call deleted during the outage has no media after it
        kept = [s["id"] for s in streams
                if not s["id"].startswith("fr-plain-3@")]
        a = analyse(streams, res, dur, [{"t_ms": t_ms, "restart_ms": 0}],
                    only=kept)[0]
        print("FAULT redis outage_s=%d records_back_ms=%d gap_ms=%d "
              "lost_pkts=%d lost_calls=%d" %
              (REDIS_OUTAGE_S, back_ms if back else -1, a["gap_ms"],
               a["lost_pkts"], a["lost_calls"]))
        log("outage: %d calls made, %d deleted during it; totals %r" %
            (len(made), len(deleted), summary(res)))
        bad = []
        if not back:
            bad.append("records not back in Redis: %r" % missing)
        if extra:
            bad.append("deleted calls back in Redis: %r" % extra)
        if not live <= relay_live:
            bad.append("relayd lacks %r" % sorted(live - relay_live))
        if a["gap_ms"] >= MAX_GAP_MS:
            bad.append("media gap %d ms" % a["gap_ms"])
        if a["lost_calls"]:
            bad.append("calls stopped: %r" % a["dead_calls"])
        self.assertEqual(bad, [], "\n".join(bad))

    @unittest.skipIf(kamailio_usable(), kamailio_usable())
    def test_kamailio_call(self):
        """A call through Kamailio (rtpengine module -> ctld) between a
        sipp UAC and UAS, their media played by mediaprobe: ctld is killed
        twice mid-call; media goes on, and the BYE's delete (sent by
        Kamailio to the restarted ctld) ends the call everywhere."""
        call_ms = 15000
        with SupCluster() as c:
            kam = Kamailio(c.ng_port, c.dir)
            try:
                kam.start()
                uac, uas = kam.call(call_ms)
                cid = wait_for(lambda: next(iter(c.ng_calls() or []), None),
                               10, 0.1)
                self.assertIsNotNone(cid, "no call from sipp:\n" +
                                     kam.tail("sipp-uac"))
                streams = wait_for(lambda: self._kam_streams(c, cid, uac,
                                                             uas), 5, 0.1)
                self.assertIsNotNone(streams, "call %s not answered" % cid)
                probe = MediaProbe(streams, seconds=call_ms / 1000)
                faults = []
                try:
                    time.sleep(2.0)
                    for _ in range(2):
                        t_ms = probe.now_ms()
                        old, new, restart_ms = self.kill_ctld(c)
                        faults.append({"t_ms": t_ms,
                                       "restart_ms": restart_ms})
                        time.sleep(2.0)
                    listed = cid in (c.ng_calls() or set())
                    res, dur = probe.stop()
                finally:
                    probe.kill()
                rcs = kam.wait_sipp(call_ms / 1000 + 30)
                gone = wait_for(lambda: c.relay_calls() is not None and
                                cid not in c.relay_calls(), 5, 0.1)
                in_redis = c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid)
            finally:
                kam.stop()
        per = analyse(streams, res, dur, faults)
        for i, a in enumerate(per):
            print("FAULT ctld kamailio kill=%d ng_back_ms=%d gap_ms=%d "
                  "lost_pkts=%d lost_calls=%d" %
                  (i + 1, round(a["restart_ms"]), a["gap_ms"],
                   a["lost_pkts"], a["lost_calls"]))
        log("Kamailio call %s: %r" % (cid, summary(res)))
        self.assertTrue(listed, "ctld lost the Kamailio call")
        for a in per:
            self.assertLess(a["gap_ms"], MAX_GAP_MS)
            self.assertEqual(a["lost_calls"], 0, a["dead_calls"])
        self.assertEqual(rcs.get("sipp-uac"), 0, kam.tail("sipp-uac"))
        self.assertEqual(rcs.get("sipp-uas"), 0, kam.tail("sipp-uas"))
        self.assertTrue(gone, "relayd still holds the call after its BYE")
        self.assertFalse(in_redis, "the call's record outlived its BYE")

    @staticmethod
    def _kam_streams(c, cid, uac, uas):
        try:
            return kamailio_streams(c.ngc, cid, uac, uas)
        except (AssertionError, KeyError, IndexError):
            return None

    # ---- several relay nodes
    def test_relay_node_takeover(self):
        """Two relay nodes (n1 on 127.0.0.2, n2 on 127.0.0.3, one
        relayd each): ctld spreads calls over both; n2 is killed for good
        (SIGKILL by PID, no restart): after relay_dead_ms ctld has n1
        adopt n2's calls from Redis (node_adopt), media resumes, and the
        calls are queried, re-offered and deleted through n1.  Before
        that, while n2 is silent but not yet dead, a query and a delete of
        its calls answer at once (not after ipc_timeout_ms), and the call
        deleted then is deleted on n1 when n1 adopts it (an orphan)."""
        dead_ms = 3000
        nodes = ("n1=ipc://relayd.sock,ipc://relayd-pub.sock "
                 "n2=ipc://relayd2.sock,ipc://relayd2-pub.sock")
        over = {"common": {"node_id": "n1"},
                "relayd": {"interface": "127.0.0.2"},
                "ctld": {"relay_nodes": nodes, "relay_dead_ms": dead_ms}}
        with Cluster(over, daemons=("keyd", "relayd")) as c:
            conf2 = os.path.join(c.run_dir, "rtpsec2.conf")
            with open(c.conf) as f:
                text = f.read()
            text = text.replace("node_id = n1", "node_id = n2", 1)
            text = text.replace("interface = 127.0.0.2",
                                "interface = 127.0.0.3", 1)
            text = text.replace("[common]\n", "[common]\nrelayd_ctl = "
                                "ipc://relayd2.sock\nrelayd_pub = "
                                "ipc://relayd2-pub.sock\n", 1)
            with open(conf2, "w") as f:
                f.write(text)
            logf = open(os.path.join(c.run_dir, "relayd2.log"), "ab")
            r2 = subprocess.Popen([os.path.join(B, "relayd"), "-f", conf2],
                                  stdout=logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
            logf.close()
            ep2 = "ipc://%s/relayd2.sock" % c.run_dir
            try:
                zc = ZmqClient()

                def ping2():
                    r = zc.request(ep2, "ping", timeout_ms=300)
                    return r is not None and r.get("node") == "n2"
                self.assertTrue(wait_for(ping2, 10, 0.1), "relayd n2")
                for d in ("ctld", "statsd"):
                    c._start_daemon(d)
                    c.wait_ready(d)
                ngc = NgClient(c.ng_port)
                by_call = {}
                for i in range(6):
                    cid = "fn-%d@test" % i
                    by_call[cid] = setup_call(ngc, cid, "plain")
                streams = [x for v in by_call.values() for x in v]
                cids = set(by_call)

                def calls_on(ep):
                    r = zc.request(ep, "call_list", timeout_ms=1000)
                    return None if r is None or not r.get("ok") \
                        else set(r["calls"])
                ep1 = "ipc://%s/relayd.sock" % c.run_dir
                on1, on2 = calls_on(ep1), calls_on(ep2)
                log("spread: n1 %s, n2 %s" % (sorted(on1), sorted(on2)))
                self.assertEqual(on1 | on2, cids)
                self.assertTrue(on1 and on2, "calls not spread")
                probe = MediaProbe(streams, seconds=30)
                try:
                    time.sleep(1.5)
                    t_ms = probe.now_ms()
                    t0 = time.monotonic()
                    r2.kill()
                    r2.wait(5)
                    # n2 silent 1.8 s, not yet dead (3 s): ng commands for
                    # its calls do not wait on it (a query answers from ctld's
                    # data, a delete ends the call in ctld, and n1 deletes
                    # it as an orphan when it adopts n2's records)
                    gone_cid = sorted(on2)[-1]
                    time.sleep(1.8)
                    tq = time.monotonic()
                    qr = ngc.cmd({"command": "query",
                                  "call-id": sorted(on2)[0]})
                    q_ms = (time.monotonic() - tq) * 1000
                    tq = time.monotonic()
                    dr = ngc.cmd({"command": "delete", "call-id": gone_cid})
                    d_ms = (time.monotonic() - tq) * 1000
                    early = (time.monotonic() - t0) * 1000
                    cids.discard(gone_cid)
                    moved = wait_for(lambda: (calls_on(ep1) or set()) >=
                                     cids, dead_ms / 1000 + 8, 0.05)
                    took_ms = (time.monotonic() - t0) * 1000
                    orphan = gone_cid in (calls_on(ep1) or set())
                    time.sleep(2.5)
                    qbad = [cid for cid in sorted(cids) if not
                            ok(ngc.cmd({"command": "query",
                                        "call-id": cid}))]
                    moved_cid = sorted(on2)[0]
                    self.reoffer(_Ng(ngc), moved_cid, "plain",
                                 by_call[moved_cid])
                    time.sleep(1.0)
                    res, dur = probe.stop()
                finally:
                    probe.kill()
                st, text = c.http_get("/metrics")
                takeovers = [l for l in text.splitlines()
                             if l.startswith("rtpsec_relay_takeovers_total")]
                delete_calls(ngc, sorted(cids))
                left = calls_on(ep1)
                ngc.close()
            finally:
                if r2.poll() is None:
                    r2.kill()
                    r2.wait(5)
        a = analyse(streams, res, dur, [{"t_ms": t_ms,
                                         "restart_ms": took_ms}],
                    only=[x["id"] for x in streams
                          if x["id"].rsplit("/", 1)[0] in on2 and
                          x["id"].rsplit("/", 1)[0] != gone_cid])[0]
        b = analyse(streams, res, dur, [{"t_ms": t_ms, "restart_ms": 0}],
                    only=[x["id"] for x in streams
                          if x["id"].rsplit("/", 1)[0] in on1])[0]
        print("FAULT relay-node takeover_ms=%d gap_ms=%d lost_pkts=%d "
              "lost_calls=%d other_node_gap_ms=%d" %
              (took_ms, a["gap_ms"], a["lost_pkts"], a["lost_calls"],
               b["gap_ms"]))
        log("metrics: %r; totals %r" % (takeovers, summary(res)))
        bad = []
        log("n2 silent %d ms: query %.0f ms (%r), delete %.0f ms (%r)" %
            (early, q_ms, (qr or {}).get("warning"), d_ms,
             (dr or {}).get("result")))
        if not moved:
            bad.append("n1 did not adopt n2's calls")
        if early < dead_ms and (q_ms > 250 or d_ms > 250):
            bad.append("ng waited on silent n2: query %.0f ms, delete "
                       "%.0f ms" % (q_ms, d_ms))
        if not ok(qr) or not ok(dr):
            bad.append("query/delete while n2 silent: %r %r" % (qr, dr))
        if early < dead_ms and not (qr or {}).get("warning"):
            bad.append("query while n2 silent has no warning: %r" % qr)
        if orphan:
            bad.append("n1 adopted %s, deleted while n2 was silent, and "
                       "kept it" % gone_cid)
        if qbad:
            bad.append("query failed after the takeover: %r" % qbad)
        if a["lost_calls"] or b["lost_calls"]:
            bad.append("calls stopped: %r" % (a["dead_calls"] +
                                              b["dead_calls"]))
        if a["gap_ms"] > dead_ms + 1500:
            bad.append("media gap %d ms on the adopted calls" % a["gap_ms"])
        if b["gap_ms"] >= MAX_GAP_MS:
            bad.append("media gap %d ms on n1's own calls" % b["gap_ms"])
        if not any(l.endswith(" 1") or l.endswith("} 1")
                   for l in takeovers):
            bad.append("rtpsec_relay_takeovers_total: %r" % takeovers)
        if left:
            bad.append("n1 still holds %r" % sorted(left))
        self.assertEqual(bad, [], "\n".join(bad))


class _Ng:
    """What reoffer() needs of a cluster: its ng client."""

    def __init__(self, ngc):
        self.ngc = ngc


if __name__ == "__main__":
    unittest.main()
