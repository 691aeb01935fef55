"""
keyd's SDES key service against the real keyd and relayd (run as root,
both are chrooted, unprivileged and under their seccomp allow-lists, so
RAND_bytes runs confined): sdes_offer
lines, sdes_select and sdes_answer installing relayd's `out` key,
sdes_remote its `in` key (call_query shows the suites in force), refused
lines, a key relayd refuses (alone, and in one batch with a request that
succeeds: keyd pushes a batch's keys together), sdes_forget, no key in
keyd's log, and relayd down answered with "relayd unavailable" within the
deadline.
"""
import base64
import os
import time
import unittest

from cluster import ClusterTestCase, log

CALL = "sdes-it@test"


class KeydSdesTest(ClusterTestCase):
    daemons = ("keyd", "relayd")
    seq = 1000

    def req(self, d, op, **fields):
        KeydSdesTest.seq += 1
        msg = dict({"v": 1, "op": op, "id": KeydSdesTest.seq}, **fields)
        rep = self.cluster.zmq_request(d, msg, timeout_ms=3000)
        self.assertIsNotNone(rep, "%s: no reply from %s" % (op, d))
        return rep

    def req_many(self, d, ops):
        """(op, fields) requests sent together; their replies in order."""
        msgs = []
        for op, fields in ops:
            KeydSdesTest.seq += 1
            msgs.append(dict({"v": 1, "op": op, "id": KeydSdesTest.seq},
                             **fields))
        reps = self.cluster.zmq_request_many(d, msgs, timeout_ms=3000)
        for (op, _), rep in zip(ops, reps):
            self.assertIsNotNone(rep, "%s: no reply from %s" % (op, d))
        return reps

    def media_of(self, leg):
        q = self.req("relayd", "call_query", call=CALL)
        self.assertTrue(q["ok"], q)
        for lg in q["legs"]:
            if lg["leg"] == leg:
                return lg["media"][0]
        self.fail("leg %s not in call_query" % leg)

    def test_sdes(self):
        c = self.cluster
        for leg in ("A", "B"):
            rep = self.req("relayd", "leg_alloc", call=CALL, leg=leg, media=1)
            self.assertTrue(rep["ok"], rep)
        for leg, peer in (("A", "B"), ("B", "A")):
            rep = self.req("relayd", "leg_update", call=CALL, leg=leg,
                           peer=peer, media=[])
            self.assertTrue(rep["ok"], rep)

        # offer towards B: 8 lines, the same again
        rep = self.req("keyd", "sdes_offer", call=CALL, leg="B", media=1)
        self.assertTrue(rep["ok"], rep)
        lines = rep["crypto"]
        self.assertEqual(len(lines), 8)
        self.assertEqual(lines[6].split()[:2],
                         ["a=crypto:7", "AES_CM_128_HMAC_SHA1_80"])
        self.assertEqual(len({ln.split()[2] for ln in lines}), 8)
        rep = self.req("keyd", "sdes_offer", call=CALL, leg="B", media=1)
        self.assertEqual(rep["crypto"], lines)

        # B answered with tag 7 and its own key
        rep = self.req("keyd", "sdes_select", call=CALL, leg="B", media=1,
                       tag=7)
        self.assertTrue(rep["ok"], rep)
        peer_key = base64.b64encode(os.urandom(30)).decode()
        rep = self.req("keyd", "sdes_remote", call=CALL, leg="B", media=1,
                       line="1 AES_CM_128_HMAC_SHA1_80 inline:" + peer_key)
        self.assertTrue(rep["ok"], rep)
        m = self.media_of("B")
        self.assertEqual(m["srtp_out"], "AES_CM_128_HMAC_SHA1_80")
        self.assertEqual(m["srtp_in"], "AES_CM_128_HMAC_SHA1_80")

        # A offered SRTP: our answer's key for its suite and tag
        rep = self.req("keyd", "sdes_answer", call=CALL, leg="A", media=1,
                       suite="AEAD_AES_256_GCM", tag=3)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["crypto"][0].split()[:2],
                         ["a=crypto:3", "AEAD_AES_256_GCM"])
        self.assertEqual(self.media_of("A")["srtp_out"], "AEAD_AES_256_GCM")

        # refused lines push nothing
        for bad in ("1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ",
                    "1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^20|1:4" % peer_key,
                    "1 NULL_HMAC_SHA1_80 inline:" + peer_key):
            rep = self.req("keyd", "sdes_remote", call=CALL, leg="A",
                           media=1, line=bad)
            self.assertFalse(rep["ok"], rep)
            self.assertNotIn(peer_key[:8], rep["error"])
        self.assertEqual(self.media_of("A")["srtp_in"], "")

        # relayd refuses the key (no such call): keyd says so, whether the
        # request comes alone or in one batch with one that succeeds
        rep = self.req("keyd", "sdes_remote", call="no-such-call", leg="A",
                       media=1, line="1 AES_CM_128_HMAC_SHA1_80 inline:" +
                       peer_key)
        self.assertFalse(rep["ok"], rep)
        self.assertTrue(rep["error"].startswith("relayd: "), rep)
        reps = self.req_many("keyd", [
            ("sdes_remote", dict(call="no-such-call", leg="A", media=1,
                                 line="1 AES_CM_128_HMAC_SHA1_80 inline:" +
                                 peer_key)),
            ("sdes_answer", dict(call=CALL, leg="A", media=1,
                                 suite="AES_CM_128_HMAC_SHA1_80", tag=1))])
        self.assertFalse(reps[0]["ok"], reps[0])
        self.assertTrue(reps[0]["error"].startswith("relayd: "), reps[0])
        self.assertTrue(reps[1]["ok"], reps[1])
        self.assertEqual(self.media_of("A")["srtp_out"],
                         "AES_CM_128_HMAC_SHA1_80")

        # keys never in keyd's log
        text = c.log_text("keyd")
        self.assertNotIn("inline:", text)
        self.assertNotIn(peer_key[:12], text)
        for ln in lines:
            self.assertNotIn(ln.split()[2][7:19], text)

        # forget: a later select fails
        rep = self.req("keyd", "sdes_forget", call=CALL)
        self.assertTrue(rep["ok"], rep)
        rep = self.req("keyd", "sdes_select", call=CALL, leg="B", media=1,
                       tag=7)
        self.assertEqual(rep.get("error"), "unknown key set", rep)

        # relayd down: "relayd unavailable" within the deadline
        c._stop_proc(c.procs["relayd"])
        try:
            rep = self.req("keyd", "sdes_offer", call=CALL, leg="B", media=1)
            self.assertTrue(rep["ok"], rep)
            t0 = time.monotonic()
            rep = self.req("keyd", "sdes_select", call=CALL, leg="B",
                           media=1, tag=1)
            dt = time.monotonic() - t0
            log("keyd answered %r in %.0f ms with relayd down" %
                (rep.get("error"), dt * 1000))
            self.assertEqual(rep.get("error"), "relayd unavailable", rep)
            self.assertLess(dt, 1.0)
        finally:
            c._start_daemon("relayd")
            c.wait_ready("relayd")


if __name__ == "__main__":
    unittest.main()
