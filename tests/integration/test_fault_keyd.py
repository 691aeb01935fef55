"""
Issue 5, keyd: kill -9 keyd (by PID) under supervisord with SDES-SRTP
calls in progress.

  test_keyd_kills  8 SDES calls (towards the callee, from the caller, both
        legs) and 2 plain ones with media both ways (mediaprobe).
        FAULT_KILLS (default 5) times: SIGKILL to keyd's PID, wait for the
        new PID to answer, then set up a new SDES call (offers retried for
        up to 2 s) and check its media both ways for 1.5 s.  Running media
        must not notice (no interruption over 100 ms, no packet lost, no
        authentication failure); keyd's key-wrapping key (`keyd.kek` in
        run_dir) is the same file with the same content after every
        restart.  Then relayd is killed once: it gets the keys of the calls
        back from the new keyd (srtp_unwrap with the persisted KEK), so
        SDES media resumes and authenticates.

Prints one line per kill:
  FAULT keyd kill=i restart_ms=.. gap_ms=.. lost_pkts=.. lost_calls=..
  auth_fail=.. new_call_ms=..
  FAULT relayd-after-keyd kill=1 ...
"""
import os
import time
import unittest

from cluster import log
from faults import (MediaProbe, SupCluster, analyse, calls_of,
                    delete_calls, fault_kills, fault_line, setup_call,
                    setup_call_retry, summary, wait_for)

SETTLE_S = 1.0
RELAY_MAX_GAP_MS = 1500


def kek_state(path):
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            return (st.st_ino, st.st_mode & 0o777, f.read())
    except OSError:
        return None


class KeydFaultTest(unittest.TestCase):
    maxDiff = None

    def test_keyd_kills(self):
        kills = fault_kills()
        with SupCluster() as c:
            kek = os.path.join(c.run_dir, "keyd.kek")
            streams = []
            kinds = ["sdes", "sdes_caller", "sdes_both"]
            for i in range(8):
                streams += setup_call(c.ngc, "fk-sdes-%d@test" % i,
                                      kinds[i % 3],
                                      seq_a=65400 if i == 0 else None,
                                      seq_b=65400 if i == 0 else None)
            for i in range(2):
                streams += setup_call(c.ngc, "fk-plain-%d@test" % i, "plain")
            cids = set(calls_of(streams))
            kek0 = wait_for(lambda: kek_state(kek), 2, 0.05)
            log("KEK file %s: %s" % (kek, "mode %o, %d bytes" %
                                     (kek0[1], len(kek0[2]))
                                     if kek0 else "missing"))
            probe = MediaProbe(streams, seconds=30 + kills * 6)
            faults, news, kek_changes, new_bad = [], [], [], []
            try:
                time.sleep(2.0)
                for k in range(kills):
                    t_ms = probe.now_ms()
                    old, new, restart_ms = c.kill("keyd")
                    cid = "fk-new-%d@test" % k
                    try:
                        ns, secs, tries = setup_call_retry(c.ngc, cid, "sdes",
                                                           timeout=2.0)
                        new_ms = secs * 1000
                    except AssertionError as e:
                        ns, new_ms, tries = None, None, 0
                        new_bad.append("kill %d: %s" % (k + 1, e))
                    if ns is not None:
                        news.append(cid)
                        chk = MediaProbe(ns, seconds=1.5)
                        nres, _ = chk.finish(10)
                        for sid, r in nres.items():
                            if r["received"] < 40 or r["auth_failed"]:
                                new_bad.append(
                                    "kill %d: new call %s: received %d, "
                                    "auth failures %d" %
                                    (k + 1, sid, r["received"],
                                     r["auth_failed"]))
                    st = kek_state(kek)
                    if st != kek0:
                        kek_changes.append(k + 1)
                    log("keyd kill %d: pid %d -> %d, answering after %.0f "
                        "ms, new SDES call after %s ms (%d offers)" %
                        (k + 1, old, new, restart_ms,
                         "%.0f" % new_ms if new_ms is not None else "-",
                         tries))
                    faults.append({"t_ms": t_ms, "restart_ms": restart_ms,
                                   "new_call_ms": new_ms})
                    time.sleep(SETTLE_S)
                # relayd now needs the new keyd to unwrap the stored keys
                time.sleep(1.0)
                t_ms = probe.now_ms()
                old, new, restart_ms = c.kill("relayd")
                relay_fault = {"t_ms": t_ms, "restart_ms": restart_ms}
                listed = wait_for(lambda: (c.relay_calls() or set()) >= cids,
                                  1.0, 0.05)
                log("relayd kill: pid %d -> %d, answering after %.0f ms, "
                    "calls %s" % (old, new, restart_ms,
                                  "listed" if listed else "MISSING"))
                time.sleep(3.0)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(c.ngc, sorted(cids) + news)

        per = analyse(streams, res, dur, faults + [relay_fault])
        lines = []
        for i, a in enumerate(per[:-1]):
            lines.append(fault_line("keyd", i + 1, a) + " new_call_ms=%s" %
                         ("%.0f" % a["new_call_ms"]
                          if a["new_call_ms"] is not None else "-"))
        ra = per[-1]
        fault_line("relayd-after-keyd", 1, ra)
        log("totals: %r" % summary(res))

        bad = list(new_bad)
        if kek0 is None:
            bad.append("no KEK file %s" % kek)
        elif kek0[1] != 0o600:
            bad.append("KEK file mode %o" % kek0[1])
        if kek_changes:
            bad.append("KEK file changed after kill(s) %r" % kek_changes)
        for i, a in enumerate(per[:-1]):
            # keyd is not on the media path: no interruption at all
            if a["gap_ms"] >= 100 or a["lost_pkts"] or a["lost_calls"] or \
                    a["auth_fail"]:
                bad.append("keyd kill %d disturbed media: gap %d ms, lost "
                           "%d, calls %r, auth failures %d" %
                           (i + 1, a["gap_ms"], a["lost_pkts"],
                            a["dead_calls"], a["auth_fail"]))
        if not listed:
            bad.append("relayd did not restore every call after the keyd "
                       "restarts")
        if ra["gap_ms"] >= RELAY_MAX_GAP_MS or ra["lost_calls"] or \
                ra["auth_late"]:
            bad.append("relayd kill after keyd restarts: gap %d ms, calls "
                       "stopped %r, auth failures after the window %d" %
                       (ra["gap_ms"], ra["dead_calls"], ra["auth_late"]))
        self.assertEqual(bad, [], "\n".join(bad))


if __name__ == "__main__":
    unittest.main()
