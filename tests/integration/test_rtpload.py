"""
build/rtpload against a real cluster at a small load: 20 calls at 50
packets/s per stream for 2 s, plain and with SDES-SRTP on the caller leg.
rtpload sets the calls up over ng, relays media both ways, measures, and
deletes its calls; the test checks its RESULT line (nothing failed, >= 99%
delivered, latency and CPU measured) and that no session is left.  The
full comparison with rtpengine is `make bench` (tests/bench/run.sh).
"""
import json
import os
import subprocess
import unittest

from cluster import B, ClusterTestCase, wait_until, log

RTPLOAD = os.path.join(B, "rtpload")
CALLS, RATE, SECONDS = 20, 50, 2


class RtpLoadTest(ClusterTestCase):
    overrides = {"ctld": {"delete_delay": 0}}

    def rtpload(self, *extra):
        if not os.access(RTPLOAD, os.X_OK):
            self.fail("%s is not built (make all)" % RTPLOAD)
        c = self.cluster
        pids = ",".join(str(c.procs[d].pid)
                        for d in ("relayd", "ctld", "keyd", "statsd"))
        cmd = [RTPLOAD, "-n", "127.0.0.1:%d" % c.ng_port, "-c", str(CALLS),
               "-r", str(RATE), "-d", str(SECONDS), "-p", pids, "-j"]
        cmd += list(extra)
        log(" ".join(cmd))
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=SECONDS + 60)
        except subprocess.TimeoutExpired as e:
            self.fail("rtpload did not finish: %s" % (e.stderr or ""))
        self.assertEqual(r.returncode, 0,
                         "rtpload exit %d: %s" % (r.returncode, r.stderr))
        lines = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
        self.assertEqual(len(lines), 1, r.stdout + r.stderr)
        res = json.loads(lines[0][len("RESULT "):])
        log("RESULT %s" % json.dumps(res, sort_keys=True))
        return res

    def check(self, res, srtp):
        self.assertEqual(res["calls"], CALLS, res)
        self.assertEqual(bool(res["srtp"]), srtp, res)
        self.assertEqual(res["setup_failed"], 0, res)
        self.assertGreater(res["sent"], 0, res)
        # 20 calls x 2 streams x 50 pps x 2 s, give or take the ramp
        self.assertGreater(res["sent"], CALLS * 2 * RATE * SECONDS // 2, res)
        self.assertGreaterEqual(res["delivered"] / res["sent"], 0.99, res)
        self.assertGreater(res["latency_us"]["p50"], 0, res)
        self.assertGreaterEqual(res["latency_us"]["p99"],
                                res["latency_us"]["p50"], res)
        self.assertGreater(res["setup_us"]["p50"], 0, res)
        self.assertGreater(res["cpu_us_per_pkt"], 0, res)
        self.assertGreater(res["relay_cpu_s"], 0, res)
        self.assertIsInstance(res["rss_per_call_bytes"], (int, float), res)
        self.assertIsNone(res.get("saturate"), res)
        self.no_sessions_left()

    def no_sessions_left(self):
        c = self.cluster

        def empty():
            r = c.ng({"command": "list"})
            self.assertEqual(r.get("result"), "ok", r)
            return r["calls"] == []
        wait_until(empty, 5, what="no calls left after rtpload")

    def test_plain(self):
        self.check(self.rtpload(), srtp=False)

    def test_sdes(self):
        self.check(self.rtpload("-S"), srtp=True)


if __name__ == "__main__":
    unittest.main()
