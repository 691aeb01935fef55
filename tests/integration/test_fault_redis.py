"""
Issue 5, Redis: kill -9 redis-server (by PID) with calls in progress under
supervisord (tools/run.sh).  supervisord starts it again at once, and
empty: the cluster's Redis saves nothing, so this is the harshest outage
there is, every record lost.  The daemons keep the calls in memory and
write every record back when Redis answers again.

  test_redis_kills  6 plain and 4 SDES-SRTP calls with media both ways
        (mediaprobe, 20 ms packets).  FAULT_KILLS (default 5) times:
        SIGKILL to Redis, then wait until every live call's ctld record
        (`rtpsec:call:{id}`) and relay record (`rtpsec:relay:{id}`) and
        both node sets are back, with an ng offer+answer and a delete
        made meanwhile (the new call's records must appear, the deleted
        one's must not come back).  Media must not notice (no gap, no
        loss).  Finally relayd is killed once: it can only resume the
        calls from the records written back, which shows they are whole
        (ports, latched peers, wrapped keys, rollover counters).

(test_fault_ctld.py's test_redis_outage stops Redis for 30 s while calls
are set up, answered and deleted.)

Prints one line per kill:
  FAULT redis kill=i restart_ms=.. back_ms=.. gap_ms=.. lost_pkts=..
  lost_calls=..
"""
import time
import unittest

from cluster import log
from faults import (MediaProbe, SupCluster, analyse, calls_of, delete_calls,
                    fault_kills, fault_line, ok, setup_call, summary,
                    wait_for)

SETTLE_S = 1.0


class RedisFaultTest(unittest.TestCase):
    def records_back(self, c, live, gone, node):
        try:
            for cid in live:
                if not c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid) or \
                        not c.redis_cmd("EXISTS", "rtpsec:relay:{%s}" % cid):
                    return False
            calls = set(x.decode() for x in c.redis_cmd(
                "SMEMBERS", "rtpsec:node:%s:calls" % node))
            relays = set(x.decode() for x in c.redis_cmd(
                "SMEMBERS", "rtpsec:node:%s:relays" % node))
            if not live <= calls or not live <= relays:
                return False
            return not any(c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid)
                           or c.redis_cmd("EXISTS", "rtpsec:relay:{%s}" % cid)
                           for cid in gone)
        except (OSError, ConnectionError):
            return False

    def test_redis_kills(self):
        kills = fault_kills()
        with SupCluster() as c:
            node = c.config["common"]["node_id"]
            streams = []
            for i in range(6):
                streams += setup_call(c.ngc, "fx-plain-%d@test" % i, "plain")
            for i, kind in enumerate(("sdes", "sdes_caller", "sdes_both",
                                      "sdes")):
                streams += setup_call(c.ngc, "fx-sdes-%d@test" % i, kind,
                                      seq_a=65400 if i == 0 else None,
                                      seq_b=65400 if i == 0 else None)
            calls = calls_of(streams)
            live = set(calls)
            gone = set()
            probe = MediaProbe(streams, seconds=15 + kills * 4)
            faults, bad = [], []
            try:
                self.assertTrue(wait_for(lambda: self.records_back(
                    c, live, gone, node), 5), "records before the kills")
                time.sleep(1.0)
                for k in range(kills):
                    t_ms = probe.now_ms()
                    old, new, restart_ms = c.kill("redis")
                    if c._resp is not None:
                        c._resp.close()
                        c._resp = None
                    # control goes on: a new call, and one ends
                    cid = "fx-new-%d@test" % k
                    setup_call(c.ngc, cid, "plain")
                    live.add(cid)
                    if k > 0:
                        prev = "fx-new-%d@test" % (k - 1)
                        r = c.ngc.cmd({"command": "delete", "call-id": prev})
                        if not ok(r):
                            bad.append("kill %d: delete %s: %r" %
                                       (k + 1, prev, r))
                        live.discard(prev)
                        gone.add(prev)
                    t1 = time.monotonic()
                    back = wait_for(lambda: self.records_back(
                        c, live, gone, node), 10, 0.02)
                    back_ms = (time.monotonic() - t1) * 1000 + restart_ms
                    if not back:
                        bad.append("kill %d: records not back in 10 s" %
                                   (k + 1))
                    log("redis kill %d: pid %d -> %d, answering after %.0f "
                        "ms, every record back after %.0f ms" %
                        (k + 1, old, new, restart_ms, back_ms))
                    faults.append({"t_ms": t_ms, "restart_ms": restart_ms,
                                   "back_ms": back_ms})
                    time.sleep(SETTLE_S)
                # the records written back are whole: relayd restores
                # every call from them alone
                t_ms = probe.now_ms()
                old, new, restart_ms = c.kill("relayd")
                listed = wait_for(lambda: (c.relay_calls() or set()) >=
                                  live, 2, 0.05)
                if not listed:
                    bad.append("relayd restored %r of %r" %
                               (sorted(c.relay_calls() or set()),
                                sorted(live)))
                faults.append({"t_ms": t_ms, "restart_ms": restart_ms,
                               "back_ms": 0, "relayd": True})
                time.sleep(2.5)
                res, dur = probe.stop()
            finally:
                probe.kill()
            delete_calls(c.ngc, sorted(live))
            run_log = c.log_tail(3000)

        per = analyse(streams, res, dur, faults)
        for i, a in enumerate(per):
            if a.get("relayd"):
                fault_line("relayd-after-redis", 1, a)
            else:
                fault_line("redis", i + 1, a)
                print("FAULT redis kill=%d back_ms=%d" % (i + 1,
                                                          a["back_ms"]))
        log("totals: %r" % summary(res))
        for i, a in enumerate(per):
            if a["lost_calls"]:
                bad.append("fault %d: calls stopped: %r" %
                           (i + 1, a["dead_calls"]))
            if a["auth_late"]:
                bad.append("fault %d: %d SRTP auth failures" %
                           (i + 1, a["auth_late"]))
            if not a.get("relayd") and (a["gap_ms"] or a["lost_pkts"]):
                bad.append("redis kill %d: media gap %d ms, %d lost" %
                           (i + 1, a["gap_ms"], a["lost_pkts"]))
            if a.get("relayd") and a["gap_ms"] >= 1500:
                bad.append("relayd kill after the Redis kills: gap %d ms" %
                           a["gap_ms"])
        if bad:
            log("run.log tail:\n" + run_log)
        self.assertEqual(bad, [], "\n".join(bad))


if __name__ == "__main__":
    unittest.main()
