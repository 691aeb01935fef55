"""
Issue 5, relayd: kill -9 relayd (by PID) with calls in progress under
supervisord (tools/run.sh); supervisord restarts it, it restores its
node's calls from Redis (same ports, latched peers, keys unwrapped by keyd,
rollover counters) and media resumes.

  test_calls_survive_kills  10 plain and 10 SDES-SRTP calls (SDES towards
        the callee, from the caller, and on both legs) with media both
        ways (mediaprobe, 20 ms packets); one SDES call's two streams start
        at sequence number 65300, so the rollover counters change (in
        relayd's unprotect and protect contexts) before the first kill.
        FAULT_KILLS (default 5) times: SIGKILL to relayd's PID, wait for
        supervisord's new PID to answer, check relayd and ctld still list
        every call, let media run 3 s.  Per kill: every stream receives
        again within 1.5 s of the kill (the restart included), no call
        stopped, no SRTP authentication failure after the restart window
        (restart + 1 s), and the wrapped stream goes on authenticating.
  test_kamailio_call        a call through Kamailio (rtpengine module ->
        ctld) between a sipp UAC and UAS, their media played by mediaprobe
        (sipp's pcap play cannot be measured), survives a relayd kill and
        ends with its BYE.

Prints one line per kill:
  FAULT relayd kill=i restart_ms=.. gap_ms=.. lost_pkts=.. lost_calls=..
  auth_fail=..
"""
import time
import unittest

from cluster import log
from faults import (Kamailio, MediaProbe, SupCluster, analyse,
                    calls_of, delete_calls, fault_kills, fault_line,
                    kamailio_streams, kamailio_usable, setup_call, summary,
                    wait_for)

MAX_GAP_MS = 1500       # media back within 1 s of the restart, plus slack
SETTLE_S = 3.0          # media between two kills
WRAP_SEQ = 65300        # 236 packets (4.7 s) before the wrap


class RelaydFaultTest(unittest.TestCase):
    maxDiff = None

    def kill_loop(self, c, probe, cids, kills):
        faults = []
        for k in range(kills):
            t_ms = probe.now_ms()
            old, new, restart_ms = c.kill("relayd")
            missing = None
            t1 = time.monotonic()
            listed = wait_for(lambda: (c.relay_calls() or set()) >= cids,
                              1.0, 0.05)
            if not listed:
                missing = sorted(cids - (c.relay_calls() or set()))
            ng_missing = sorted(cids - (c.ng_calls() or set()))
            log("kill %d: relayd pid %d -> %d, answering after %.0f ms, "
                "calls listed after %.0f ms%s%s" %
                (k + 1, old, new, restart_ms,
                 (time.monotonic() - t1) * 1000,
                 "; relayd lacks %r" % missing if missing else "",
                 "; ctld lacks %r" % ng_missing if ng_missing else ""))
            faults.append({"t_ms": t_ms, "restart_ms": restart_ms,
                           "relay_missing": missing or [],
                           "ng_missing": ng_missing})
            time.sleep(SETTLE_S)
        return faults

    def test_calls_survive_kills(self):
        kills = fault_kills()
        with SupCluster() as c:
            streams = []
            kinds = ["sdes", "sdes_caller", "sdes_both"]
            for i in range(10):
                streams += setup_call(c.ngc, "fr-plain-%d@test" % i,
                                      "plain")
            for i in range(10):
                seq = WRAP_SEQ if i == 0 else None
                streams += setup_call(c.ngc, "fr-sdes-%d@test" % i,
                                      kinds[i % 3], seq_a=seq, seq_b=seq)
            calls = calls_of(streams)
            cids = set(calls)
            wrapped = calls["fr-sdes-0@test"]
            probe = MediaProbe(streams, seconds=20 + kills * (SETTLE_S + 3))
            try:
                # the rollover counters change before the first kill
                time.sleep((65536 - WRAP_SEQ) * 0.02 + 1.5)
                faults = self.kill_loop(c, probe, cids, kills)
                time.sleep(1.0)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(c.ngc, sorted(cids))
            run_log = c.log_tail(3000)

        per = analyse(streams, res, dur, faults)
        for i, a in enumerate(per):
            fault_line("relayd", i + 1, a)
        tot = summary(res)
        log("totals: %r" % tot)
        for sid in wrapped:
            r = res[sid]
            log("wrapped stream %s: received %d, seq %d..%d, auth failures "
                "%d" % (sid, r["received"], r["rx_seq_min"], r["rx_seq_max"],
                        r["auth_failed"]))
        bad = []
        for i, a in enumerate(per):
            if a["gap_ms"] >= MAX_GAP_MS:
                bad.append("kill %d: media gap %d ms" % (i + 1, a["gap_ms"]))
            if a["lost_calls"]:
                bad.append("kill %d: calls stopped: %r" %
                           (i + 1, a["dead_calls"]))
            if a["relay_missing"]:
                bad.append("kill %d: relayd did not list %r" %
                           (i + 1, a["relay_missing"]))
            if a["ng_missing"]:
                bad.append("kill %d: ctld did not list %r" %
                           (i + 1, a["ng_missing"]))
            if a["auth_late"]:
                bad.append("kill %d: %d SRTP auth failures after the "
                           "restart window" % (i + 1, a["auth_late"]))
        # before the first kill: every stream flowed, nothing failed
        for sid, r in res.items():
            if r["first_rx_ms"] < 0 or r["first_rx_ms"] > 1000:
                bad.append("%s: first packet at %d ms" %
                           (sid, r["first_rx_ms"]))
        for sid in wrapped:
            r = res[sid]
            if r["rx_seq_max"] < 65536 + 50:
                bad.append("%s did not cross the wrap (seq max %d)" %
                           (sid, r["rx_seq_max"]))
            if r["tail_gap_ms"] > 200:
                bad.append("%s stopped %d ms before the end" %
                           (sid, r["tail_gap_ms"]))
        if bad:
            log("run.log tail:\n" + run_log)
        self.assertEqual(bad, [], "\n".join(bad))

    @unittest.skipIf(kamailio_usable(), kamailio_usable())
    def test_kamailio_call(self):
        call_ms = 10000
        with SupCluster() as c:
            kam = Kamailio(c.ng_port, c.dir)
            try:
                kam.start()
                uac, uas = kam.call(call_ms)
                cid = wait_for(lambda: next(iter(c.ng_calls() or []), None),
                               10, 0.1)
                self.assertIsNotNone(cid, "no call from sipp:\n" +
                                     kam.tail("sipp-uac"))
                # the answer has reached ctld once both tags are known
                streams = wait_for(lambda: self._kam_streams(c, cid, uac,
                                                             uas), 5, 0.1)
                self.assertIsNotNone(streams, "call %s not answered" % cid)
                probe = MediaProbe(streams, seconds=call_ms / 1000)
                try:
                    time.sleep(2.0)
                    t_ms = probe.now_ms()
                    old, new, restart_ms = c.kill("relayd")
                    faults = [{"t_ms": t_ms, "restart_ms": restart_ms}]
                    time.sleep(SETTLE_S + 1)
                    listed = cid in (c.relay_calls() or set())
                    res, dur = probe.stop()
                finally:
                    probe.kill()
                rcs = kam.wait_sipp(call_ms / 1000 + 30)
            finally:
                kam.stop()
        a = analyse(streams, res, dur, faults)[0]
        fault_line("relayd", 1, dict(a, restart_ms=restart_ms))
        log("Kamailio call %s: %r" % (cid, summary(res)))
        self.assertTrue(listed, "relayd lost the Kamailio call")
        self.assertLess(a["gap_ms"], MAX_GAP_MS)
        self.assertEqual(a["lost_calls"], 0, a["dead_calls"])
        self.assertEqual(rcs.get("sipp-uac"), 0, kam.tail("sipp-uac"))
        self.assertEqual(rcs.get("sipp-uas"), 0, kam.tail("sipp-uas"))

    @staticmethod
    def _kam_streams(c, cid, uac, uas):
        try:
            return kamailio_streams(c.ngc, cid, uac, uas)
        except (AssertionError, KeyError, IndexError):
            return None


if __name__ == "__main__":
    unittest.main()
