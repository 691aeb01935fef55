"""
Plain RTP/AVP calls over the ng protocol against the real daemons, Redis
and statsd: SDP rewriting, relaying both ways with strict latching,
counters (ng query, rtpsec-ctl, /metrics), Redis records, delete and
its idempotence, the cookie reply cache, JSON and TCP framing,
rtpsec-ctl terminate, and the media timeout.  Then the daemons' life:
restarts of each daemon, a Redis outage, SIGHUP, the record TTL of long
calls, the session limit and port exhaustion.
"""
import json
import signal
import socket
import time
import unittest

from cluster import (ClusterTestCase, RtpEndpoint, bencode, bdecode,
                     make_sdp, parse_sdp,
                     sdp_conn, udp_port_bound, wait_until, mp_unpack, log)

RELAY = "127.0.0.1"
PKT = 172           # 12-byte RTP header + 160 bytes PCMU


def media_ports(sdp_text):
    return [m["port"] for m in parse_sdp(sdp_text)["media"]]


class CallMixin:
    """Sets up a call between two RtpEndpoints (a = caller at 127.0.0.2,
    b = callee at 127.0.0.3)."""

    def setup_call(self, cid, nmedia=1, a=None, b=None, **extra):
        c = self.cluster
        a = a or RtpEndpoint("127.0.0.2")
        b = b or RtpEndpoint("127.0.0.3")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        media = [("audio", a.port, "0 8 101")] * nmedia
        offer = c.ng(dict({"command": "offer", "call-id": cid,
                           "from-tag": "tag-a",
                           "sdp": make_sdp("127.0.0.2", media)}, **extra))
        self.assertEqual(offer.get("result"), "ok", offer)
        media = [("audio", b.port, "0 101")] * nmedia
        answer = c.ng({"command": "answer", "call-id": cid,
                       "from-tag": "tag-a", "to-tag": "tag-b",
                       "sdp": make_sdp("127.0.0.3", media,
                                       origin_user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        # a sends to the port in the answer, b to the port in the offer
        return a, b, media_ports(answer["sdp"]), media_ports(offer["sdp"])

    def relay(self, src, dst, port, n=10, rtcp=False):
        """src sends n packets to relay port; returns what dst got."""
        sock = dst.rtcp if rtcp else dst.rtp
        sent = []
        for _ in range(n):
            if rtcp:
                sent.append(src.send_rtcp((RELAY, port)))
            else:
                sent += src.send_rtp((RELAY, port))
        got = RtpEndpoint.recv_from(sock, n, timeout=2.0)
        return sent, got

    def calls_listed(self):
        r = self.cluster.ng({"command": "list"})
        self.assertEqual(r["result"], "ok", r)
        return r["calls"]


class NgPlainTest(CallMixin, ClusterTestCase):
    overrides = {"ctld": {"delete_delay": 0}}

    # ------------------------------------------------------------ basics
    def test_ping(self):
        c = self.cluster
        self.assertEqual(c.ng({"command": "ping"}), {"result": "pong"})
        # Kamailio's key order: supports before command
        self.assertEqual(c.ng({"supports": ["load limit"],
                               "command": "ping"}), {"result": "pong"})
        raw = c.ng_raw(b"k_1 d7:command4:pinge")
        self.assertEqual(raw, b"k_1 d6:result4:ponge")

    def test_offer_answer_sdp_rewrite(self):
        c = self.cluster
        a = RtpEndpoint("127.0.0.2")
        b = RtpEndpoint("127.0.0.3")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        cid = "rewrite-1@test"
        sdp = make_sdp(
            "127.0.0.2",
            [("audio", a.port, "0 8 101"), ("audio", a.port + 2, "0"),
             ("video", a.port + 4, "96")],
            session_extra=["b=AS:84", "a=tool:rtpsec-it", "a=x-session:1"],
            media_extra=[
                ["a=ssrc:1111 cname:alice", "a=rtpmap:0 PCMU/8000",
                 "a=x-first:1", "a=rtcp:%d IN IP4 127.0.0.2" % (a.port + 1),
                 "a=x-second:2", "a=sendrecv"],
                ["a=x-only-in-two", "a=recvonly"],
                ["a=rtpmap:96 H264/90000", "a=fmtp:96 profile-level-id=42e01f",
                 "a=x-video:v"]])
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "ft",
                  "sdp": sdp})
        self.assertEqual(r.get("result"), "ok", r)
        out = parse_sdp(r["sdp"])
        log("offer rewritten:\n" + r["sdp"].replace("\r\n", "\n"))
        sess = out["session"]
        # c= rewritten to the relay, o= kept without replace:[origin]
        self.assertIn("c=IN IP4 %s" % RELAY, sess)
        self.assertIn("o=alice 2890844526 1 IN IP4 127.0.0.2", sess)
        # unknown session lines kept, in order
        idx = [sess.index(x) for x in ("b=AS:84", "a=tool:rtpsec-it",
                                       "a=x-session:1")]
        self.assertEqual(idx, sorted(idx), sess)
        # three media, each on its own even relay port in the window,
        # a=rtcp short form = port + 1, formats unchanged
        self.assertEqual(len(out["media"]), 3)
        ports = [m["port"] for m in out["media"]]
        self.assertEqual(len(set(ports)), 3, ports)
        for m, fmts, mtype in zip(out["media"], ("0 8 101", "0", "96"),
                                  ("audio", "audio", "video")):
            p = m["port"]
            self.assertEqual(p % 2, 0, m)
            self.assertTrue(c.port_min <= p < c.port_max, (p, c.port_min))
            self.assertEqual(m["m"], "m=%s %d RTP/AVP %s" % (mtype, p, fmts))
            rtcp = [l for l in m["lines"] if l.startswith("a=rtcp:")]
            self.assertEqual(rtcp, ["a=rtcp:%d" % (p + 1)], m)
            cl = sdp_conn(m["lines"])
            self.assertIn(cl, (None, RELAY), m)
            self.assertTrue(udp_port_bound(p) and udp_port_bound(p + 1),
                            "relay port %d/%d not bound" % (p, p + 1))
        lines0 = out["media"][0]["lines"]
        for x in ("a=ssrc:1111 cname:alice", "a=x-first:1", "a=x-second:2",
                  "a=rtpmap:0 PCMU/8000", "a=sendrecv"):
            self.assertIn(x, lines0)
        self.assertLess(lines0.index("a=ssrc:1111 cname:alice"),
                        lines0.index("a=x-first:1"))
        self.assertLess(lines0.index("a=x-first:1"),
                        lines0.index("a=x-second:2"))
        self.assertFalse(any("127.0.0.2" in l for l in lines0), lines0)
        self.assertIn("a=x-only-in-two", out["media"][1]["lines"])
        self.assertIn("a=recvonly", out["media"][1]["lines"])
        for x in ("a=rtpmap:96 H264/90000", "a=fmtp:96 profile-level-id=42e01f",
                  "a=x-video:v"):
            self.assertIn(x, out["media"][2]["lines"])

        # a re-offer keeps its ports
        r2 = c.ng({"command": "offer", "call-id": cid, "from-tag": "ft",
                   "sdp": sdp})
        self.assertEqual(r2.get("result"), "ok", r2)
        self.assertEqual(media_ports(r2["sdp"]), ports)

        # replace:[origin] rewrites the o= address only
        r3 = c.ng({"command": "offer", "call-id": cid, "from-tag": "ft",
                   "sdp": sdp, "replace": ["origin"]})
        self.assertIn("o=alice 2890844526 1 IN IP4 %s" % RELAY,
                      parse_sdp(r3["sdp"])["session"])
        self.assertEqual(media_ports(r3["sdp"]), ports)

        # the answer gets the caller-side ports, all different
        ans = make_sdp("127.0.0.3", [("audio", b.port, "0"),
                                     ("audio", b.port + 2, "0"),
                                     ("video", 0, "96")], origin_user="bob")
        r4 = c.ng({"command": "answer", "call-id": cid, "from-tag": "ft",
                   "to-tag": "tt", "sdp": ans})
        self.assertEqual(r4.get("result"), "ok", r4)
        aports = media_ports(r4["sdp"])
        self.assertEqual(len(aports), 3)
        self.assertFalse(set(aports[:2]) & set(ports), (aports, ports))
        self.assertIn("c=IN IP4 %s" % RELAY, parse_sdp(r4["sdp"])["session"])
        # the same answer again returns the same ports
        r5 = c.ng({"command": "answer", "call-id": cid, "from-tag": "ft",
                   "to-tag": "tt", "sdp": ans})
        self.assertEqual(media_ports(r5["sdp"]), aports)
        c.ng({"command": "delete", "call-id": cid})

    # ------------------------------------------------------------ media
    def test_rtp_both_ways_latching_and_counters(self):
        c = self.cluster
        cid = "media-1@test"
        created0 = c.settled_metric("rtpsec_calls_created_total")
        deleted0 = c.settled_metric("rtpsec_calls_deleted_total")
        offers0 = c.settled_metric("rtpsec_ng_requests_total",
                                   command="offer", result="ok")
        relayed0 = c.settled_metric("rtpsec_packets_relayed_total")
        wrong0 = c.settled_metric("rtpsec_packets_dropped_total",
                                  reason="wrong_source")
        a, b, pa, pb = self.setup_call(cid)
        # a -> relay(pa) -> b and b -> relay(pb) -> a, RTP and RTCP
        sent, got = self.relay(a, b, pa[0], 20)
        self.assertEqual([g[0] for g in got], sent, "a->b payloads")
        self.assertEqual({g[1] for g in got}, {(RELAY, pb[0])},
                         "b must see packets from the port it sends to")
        sent, got = self.relay(b, a, pb[0], 20)
        self.assertEqual([g[0] for g in got], sent, "b->a payloads")
        self.assertEqual({g[1] for g in got}, {(RELAY, pa[0])})
        sent, got = self.relay(a, b, pa[0] + 1, 1, rtcp=True)
        self.assertEqual([g[0] for g in got], sent, "a->b RTCP")
        self.assertEqual(got[0][1], (RELAY, pb[0] + 1))
        sent, got = self.relay(b, a, pb[0] + 1, 1, rtcp=True)
        self.assertEqual([g[0] for g in got], sent, "b->a RTCP")

        # strict latching: a third address is dropped and counted
        m = RtpEndpoint("127.0.0.4")
        self.addCleanup(m.close)
        m.send_rtp((RELAY, pa[0]), 5)
        m.send_rtp((RELAY, pb[0]), 3)
        self.assertEqual(b.recv_rtp(1, timeout=0.5), [], "hijack a->b")
        self.assertEqual(a.recv_rtp(1, timeout=0.5), [], "hijack b->a")
        # the latched peers still get through afterwards
        sent, got = self.relay(a, b, pa[0], 2)
        self.assertEqual([g[0] for g in got], sent)

        q = c.ng({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "ok", q)
        log("query totals %r" % q["totals"])
        self.assertEqual(q["totals"]["RTP"]["packets"], 42)
        self.assertEqual(q["totals"]["RTP"]["bytes"], 42 * PKT)
        self.assertEqual(q["totals"]["RTP"]["errors"], 8)
        self.assertEqual(q["totals"]["RTCP"]["packets"], 2)
        self.assertEqual(q["totals"]["RTCP"]["bytes"], 56)
        for k in ("created", "created_us", "last signal", "SSRC", "tags"):
            self.assertIn(k, q)
        self.assertEqual(set(q["tags"]), {"tag-a", "tag-b"})
        ta = q["tags"]["tag-a"]
        self.assertEqual(ta["tag"], "tag-a")
        self.assertEqual(ta["subscribers"],
                         [{"tag": "tag-b", "type": "offer/answer"}])
        st = ta["medias"][0]["streams"]
        self.assertEqual(ta["medias"][0]["index"], 1)
        self.assertEqual(ta["medias"][0]["type"], "audio")
        self.assertEqual(ta["medias"][0]["protocol"], "RTP/AVP")
        self.assertEqual(st[0]["local port"], pa[0])
        self.assertEqual(st[1]["local port"], pa[0] + 1)
        self.assertEqual(st[0]["local address"], RELAY)
        self.assertEqual(st[0]["endpoint"],
                         {"family": "IPv4", "address": "127.0.0.2",
                          "port": a.port})
        self.assertEqual(st[0]["advertised endpoint"]["port"], a.port)
        self.assertEqual(st[0]["stats"], {"packets": 22, "bytes": 22 * PKT,
                                          "errors": 5})
        self.assertEqual(st[0]["SSRC"], a.ssrc)
        self.assertIn("RTP", st[0]["flags"])
        self.assertIn("RTCP", st[1]["flags"])
        self.assertEqual(st[1]["stats"]["packets"], 1)
        sb = q["tags"]["tag-b"]["medias"][0]["streams"]
        self.assertEqual(sb[0]["stats"], {"packets": 20, "bytes": 20 * PKT,
                                          "errors": 3})
        self.assertGreaterEqual(st[0]["last packet"], int(time.time()) - 5)

        # the same numbers through rtpsec-ctl
        r = c.ctl("show", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        log("rtpsec-ctl show:\n" + r.stdout)
        self.assertIn(cid, r.stdout)
        self.assertIn("127.0.0.2:%d" % a.port, r.stdout)
        self.assertIn("%s:%d" % (RELAY, pa[0]), r.stdout)
        self.assertIn("packets 22", r.stdout)
        self.assertIn("RTP packets 42 bytes %d errors 8" % (42 * PKT),
                      r.stdout)
        r = c.ctl("list", "sessions")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(cid, r.stdout.split())
        r = c.ctl("list", "totals")
        self.assertEqual(r.returncode, 0, r.stderr)
        tot = dict(l.split(None, 1) for l in r.stdout.splitlines()
                   if len(l.split()) == 2)
        self.assertGreaterEqual(int(tot["sessionsown"]), 1, r.stdout)
        r = c.ctl("show", "no-such-call")
        self.assertNotEqual(r.returncode, 0, r.stdout)

        # and on /metrics (relayd's counters, through statsd)
        c.wait_metric("rtpsec_packets_relayed_total",
                      lambda v: v - relayed0 == 44, daemon="relayd")
        c.wait_metric("rtpsec_packets_dropped_total",
                      lambda v: v - wrong0 == 8, reason="wrong_source")
        mm = c.metrics()
        self.assertEqual(mm.types.get("rtpsec_packets_relayed_total"),
                         "counter")
        self.assertGreaterEqual(mm.get("rtpsec_bytes_relayed_total"),
                                42 * PKT + 56)
        self.assertGreaterEqual(mm.get("rtpsec_calls_active", daemon="ctld"),
                                1)
        self.assertGreaterEqual(mm.get("rtpsec_relay_calls"), 1)
        self.assertEqual(mm.get("rtpsec_daemon_up", daemon="relayd"), 1)
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d["result"], "ok", d)
        # a delete with from-tag carries the final statistics
        self.assertEqual(d["totals"]["RTP"]["packets"], 42, d)
        c.wait_metric("rtpsec_calls_created_total",
                      lambda v: v - created0 == 1, daemon="ctld")
        c.wait_metric("rtpsec_calls_deleted_total",
                      lambda v: v - deleted0 == 1, daemon="ctld")
        c.wait_metric("rtpsec_ng_requests_total",
                      lambda v: v - offers0 == 1, command="offer",
                      result="ok")
        tot = c.ng({"command": "statistics"})["statistics"][
            "totalstatistics"]
        self.assertGreaterEqual(tot["managedsessions"], 1, tot)
        self.assertGreaterEqual(tot["regularterminatedsessions"], 1, tot)
        self.assertGreater(float(tot["avgcallduration"]), 0.0, tot)
        # relayd's totals reach `statistics` with its next stats message
        deadline = time.monotonic() + 5
        while tot["relayedpackets"] < 42 and time.monotonic() < deadline:
            time.sleep(0.2)
            tot = c.ng({"command": "statistics"})["statistics"][
                "totalstatistics"]
        self.assertGreaterEqual(tot["relayedpackets"], 42, tot)
        self.assertGreaterEqual(tot["relayedbytes"], 42 * 12, tot)

    def test_reoffer_new_endpoint_relatches(self):
        c = self.cluster
        cid = "relatch@test"
        a, b, pa, pb = self.setup_call(cid)
        sent, got = self.relay(a, b, pa[0], 2)
        self.assertEqual(len(got), 2)
        # the caller moves (re-INVITE with a new port): ctld tells relayd
        # the new endpoint, which resets the latch of that stream
        a2 = RtpEndpoint("127.0.0.2")
        self.addCleanup(a2.close)
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "tag-a",
                  "sdp": make_sdp("127.0.0.2", [("audio", a2.port,
                                                 "0 8 101")], version=2)})
        self.assertEqual(r["result"], "ok", r)
        self.assertEqual(media_ports(r["sdp"]), pb)
        r = c.ng({"command": "answer", "call-id": cid, "from-tag": "tag-a",
                  "to-tag": "tag-b", "sdp": make_sdp(
                      "127.0.0.3", [("audio", b.port, "0 101")],
                      origin_user="bob", version=2)})
        self.assertEqual(media_ports(r["sdp"]), pa)
        sent, got = self.relay(a2, b, pa[0], 2)
        self.assertEqual([g[0] for g in got], sent, "new endpoint refused")
        # b's packets now go to the new endpoint
        sent, got = self.relay(b, a2, pb[0], 2)
        self.assertEqual([g[0] for g in got], sent)
        self.assertEqual(a.recv_rtp(1, timeout=0.3), [])
        # and the old one is refused
        a.send_rtp((RELAY, pa[0]), 1)
        self.assertEqual(b.recv_rtp(1, timeout=0.3), [])
        c.ng({"command": "delete", "call-id": cid})

    def test_multi_media_relay(self):
        cid = "media-2@test"
        a, b, pa, pb = self.setup_call(cid, nmedia=2)
        self.assertEqual(len(pa), 2)
        for i in range(2):
            # RTP of each m= line goes to the same m= line of the peer;
            # the endpoints advertised one port for both media, so both
            # arrive at the same socket, from the right relay port
            sent, got = self.relay(a, b, pa[i], 3)
            self.assertEqual([g[0] for g in got], sent)
            self.assertEqual({g[1] for g in got}, {(RELAY, pb[i])})
        self.cluster.ng({"command": "delete", "call-id": cid})

    # ------------------------------------------------------------ Redis
    def test_redis_record_and_index(self):
        c = self.cluster
        cid = "redis-1@test"
        key = "rtpsec:call:{%s}" % cid
        index = "rtpsec:node:it-node:calls"
        self.setup_call(cid)
        # ctld writes the record just after its answer's reply
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 1 and all(
            p["tag"] for p in mp_unpack(c.redis_cmd(
                "HGET", key, "data"))["parties"]), 3,
                   what="the call record after the answer")
        ttl = c.redis_cmd("TTL", key)
        self.assertTrue(0 < ttl <= 86400, ttl)
        self.assertEqual(c.redis_cmd("HGET", key, "v"), b"1")
        self.assertEqual(c.redis_cmd("HGET", key, "node"), b"it-node")
        data = mp_unpack(c.redis_cmd("HGET", key, "data"))
        self.assertEqual(data["call"], cid)
        self.assertEqual([p["tag"] for p in data["parties"]],
                         ["tag-a", "tag-b"])
        self.assertEqual(c.redis_cmd("SISMEMBER", index, cid), 1)
        # no secrets, no KEYS-style layout: exactly these keys for the call
        d = c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(d["result"], "ok", d)
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 0, 3,
                   what="the record to go")
        wait_until(lambda: c.redis_cmd("SISMEMBER", index, cid) == 0, 3,
                   what="the index entry to go")

    # ------------------------------------------------------------ delete
    def test_delete_frees_ports(self):
        c = self.cluster
        cid = "del-ports@test"
        a, b, pa, pb = self.setup_call(cid)
        ports = [pa[0], pa[0] + 1, pb[0], pb[0] + 1]
        for p in ports:
            self.assertTrue(udp_port_bound(p), p)
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d["result"], "ok", d)
        wait_until(lambda: not any(udp_port_bound(p) for p in ports), 3,
                   what="relay ports to close")
        for p in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((RELAY, p))      # raises if the relay still holds it
            s.close()
        self.assertNotIn(cid, self.calls_listed())
        # media to a freed port goes nowhere
        a.send_rtp((RELAY, pa[0]), 2)
        self.assertEqual(b.recv_rtp(1, timeout=0.3), [])

    def test_delete_idempotent(self):
        c = self.cluster
        cid = "del-idem@test"
        self.setup_call(cid)
        d1 = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d1["result"], "ok", d1)
        self.assertNotIn("warning", d1)
        d2 = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d2, {"result": "ok", "warning":
                              "Call-ID not found or tags didn't match"})
        d3 = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a",
                   "flags": ["fatal"]})
        self.assertEqual(d3, {"result": "error", "error-reason":
                              "Call-ID not found or tags didn't match"})
        d4 = c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(d4["result"], "ok", d4)

    def test_answer_after_delete_does_not_resurrect(self):
        c = self.cluster
        cid = "resurrect@test"
        b = RtpEndpoint("127.0.0.3")
        self.addCleanup(b.close)
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "x",
                  "sdp": make_sdp("127.0.0.2", [("audio", 40002, "0")])})
        self.assertEqual(r["result"], "ok", r)
        oport = media_ports(r["sdp"])[0]
        self.assertEqual(c.ng({"command": "delete", "call-id": cid,
                               "from-tag": "x"})["result"], "ok")
        r = c.ng({"command": "answer", "call-id": cid, "from-tag": "x",
                  "to-tag": "y",
                  "sdp": make_sdp("127.0.0.3", [("audio", b.port, "0")])})
        self.assertEqual(r, {"result": "error",
                             "error-reason": "Unknown call-id"})
        self.assertNotIn(cid, self.calls_listed())
        self.assertEqual(c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid), 0)
        q = c.ng({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "error", q)
        self.assertFalse(udp_port_bound(oport))

    # ------------------------------------------------------------ list, statistics
    def test_statistics_and_list(self):
        c = self.cluster
        ids = ["list-%d@test" % i for i in range(3)]
        for cid in ids:
            r = c.ng({"command": "offer", "call-id": cid, "from-tag": "f",
                      "sdp": make_sdp("127.0.0.2", [("audio", 40010, "0")])})
            self.assertEqual(r["result"], "ok", r)
        calls = self.calls_listed()
        for cid in ids:
            self.assertIn(cid, calls)
        r = c.ng({"command": "list", "limit": 1})
        self.assertEqual(r["result"], "ok")
        self.assertEqual(len(r["calls"]), 1)
        r = c.ng({"command": "list", "limit": -1})
        self.assertEqual(r, {"result": "error",
                             "error-reason": "invalid limit, must be >= 0"})
        s = c.ng({"command": "statistics"})
        self.assertEqual(s["result"], "ok", s)
        st = s["statistics"]
        for k in ("currentstatistics", "totalstatistics",
                  "intervalstatistics", "controlstatistics"):
            self.assertIn(k, st)
        self.assertGreaterEqual(st["currentstatistics"]["sessionsown"], 3)
        self.assertGreaterEqual(st["totalstatistics"]["managedsessions"], 3)
        self.assertIsInstance(st["totalstatistics"]["uptime"], str)
        cs = st["controlstatistics"]
        self.assertGreaterEqual(cs["totaloffercount"], 3)
        self.assertTrue(any(p["proxy"] == "127.0.0.1"
                            for p in cs["proxies"]), cs["proxies"])
        for cid in ids:
            c.ng({"command": "delete", "call-id": cid})
        calls = self.calls_listed()
        for cid in ids:
            self.assertNotIn(cid, calls)
        self.assertEqual(c.ng({"command": "frobnicate"}),
                         {"result": "error",
                          "error-reason": "Unrecognized command"})

    # ------------------------------------------------------------ cookie cache
    def test_cookie_reply_cache(self):
        c = self.cluster
        cid = "cookie-1@test"
        cookie = c.cookie()
        req = cookie.encode() + b" " + bencode(
            {"command": "offer", "call-id": cid, "from-tag": "f",
             "sdp": make_sdp("127.0.0.2", [("audio", 40020, "0")])})
        n0 = c.ng({"command": "statistics"})["statistics"][
            "controlstatistics"]["totaloffercount"]
        r1 = c.ng_raw(req)
        r2 = c.ng_raw(req)
        self.assertIsNotNone(r1)
        self.assertEqual(r1, r2, "a retransmission must get the same reply")
        n1 = c.ng({"command": "statistics"})["statistics"][
            "controlstatistics"]["totaloffercount"]
        self.assertEqual(n1 - n0, 1, "the offer ran twice")
        # same cookie, different command: the cached reply
        p = c.cookie()
        self.assertEqual(c.ng_raw(p.encode() + b" d7:command4:pinge"),
                         p.encode() + b" d6:result4:ponge")
        r = c.ng_raw(p.encode() + b" d7:command4:liste")
        self.assertEqual(r, p.encode() + b" d6:result4:ponge")
        # a delete retransmitted after the call is gone: the first reply
        dc = c.cookie()
        dreq = dc.encode() + b" " + bencode(
            {"command": "delete", "call-id": cid, "from-tag": "f"})
        d1 = c.ng_raw(dreq)
        d2 = c.ng_raw(dreq)
        self.assertEqual(d1, d2)
        self.assertNotIn(b"warning", d2)

    # ------------------------------------------------------------ framing
    def test_json_framing(self):
        c = self.cluster
        self.assertEqual(c.ng_json({"command": "ping"}), {"result": "pong"})
        cid = "json-1@test"
        r = c.ng_json({"command": "offer", "call-id": cid, "from-tag": "f",
                       "sdp": make_sdp("127.0.0.2", [("audio", 40030, "0")])})
        self.assertEqual(r["result"], "ok", r)
        self.assertTrue(r["sdp"].startswith("v=0\r\n"), r)
        q = c.ng_json({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "ok")
        self.assertIn("f", q["tags"])
        self.assertEqual(c.ng_json({"command": "delete", "call-id": cid}),
                         {"result": "ok"})
        e = c.ng_json({"command": "query", "call-id": cid})
        self.assertEqual(e, {"result": "error",
                             "error-reason": "Unknown call-id"})

    def test_tcp_framing(self):
        c = self.cluster

        self.assertEqual(c.ng_tcp({"command": "ping"}), {"result": "pong"})
        cid = "tcp-1@test"
        r = c.ng_tcp({"command": "offer", "call-id": cid, "from-tag": "f",
                      "sdp": make_sdp("127.0.0.2", [("audio", 40040, "0")])})
        self.assertEqual(r["result"], "ok", r)
        # two requests in one segment, then one split byte by byte
        with c.ng_tcp_conn() as s:
            k1, k2, k3 = c.cookie(), c.cookie(), c.cookie()
            s.sendall(k1.encode() + b" d7:command4:pinge" + k2.encode() +
                      b" " + bencode({"command": "list"}))
            v1, rest = c.ng_tcp_read(s, k1)
            self.assertEqual(v1, {"result": "pong"})
            if rest:
                rc, _, body = rest.partition(b" ")
                self.assertEqual(rc, k2.encode())
                v2 = bdecode(body) if body else None
            else:
                v2, rest = c.ng_tcp_read(s, k2)
            self.assertIn(cid, v2["calls"])
            msg = k3.encode() + b" " + bencode({"command": "query",
                                                "call-id": cid})
            for i in range(len(msg)):
                s.sendall(msg[i:i + 1])
                time.sleep(0.001)
            v3, _ = c.ng_tcp_read(s, k3)
            self.assertEqual(v3["result"], "ok")
        # JSON over TCP, and 200 pipelined requests answered in order
        with c.ng_tcp_conn() as s:
            k = c.cookie()
            s.sendall(k.encode() + b' {"command": "ping"}')
            buf = b""
            while not buf.endswith(b"}"):
                d = s.recv(4096)
                self.assertTrue(d, "connection closed")
                buf += d
            self.assertEqual(buf, k.encode() + b' {"result":"pong"}')
            ks = [c.cookie() for _ in range(200)]
            s.sendall(b"".join(x.encode() + b" d7:command4:pinge"
                               for x in ks))
            want = b"".join(x.encode() + b" d6:result4:ponge" for x in ks)
            buf = b""
            while len(buf) < len(want):
                d = s.recv(65536)
                self.assertTrue(d, "connection closed")
                buf += d
            self.assertEqual(buf, want)
        self.assertEqual(c.ng_tcp({"command": "delete", "call-id": cid}),
                         {"result": "ok"})

    # ------------------------------------------------------------ terminate
    def test_ctl_terminate(self):
        c = self.cluster
        cid = "terminate-1@test"
        a, b, pa, pb = self.setup_call(cid)
        key = "rtpsec:call:{%s}" % cid
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 1, 3,
                   what="the call record")
        r = c.ctl("terminate", cid)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(cid, self.calls_listed())
        self.assertNotIn(cid, c.ctl("list", "sessions").stdout.split())
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 0, 3,
                   what="the record to go")
        wait_until(lambda: not udp_port_bound(pa[0]) and
                   not udp_port_bound(pb[0]), 3, what="the ports to close")
        a.send_rtp((RELAY, pa[0]), 2)
        self.assertEqual(b.recv_rtp(1, timeout=0.3), [])
        # the call is gone: terminating it again is an error (exit 1)
        r = c.ctl("terminate", cid)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not found", r.stderr)


class NgFlagsTest(CallMixin, ClusterTestCase):
    """The offer flags Kamailio's rtpengine module sends, by their effect
    on the SDP written and on where relayd sends media."""
    overrides = {"ctld": {"delete_delay": 0}}

    def offer_answer(self, cid, offer_addr, extra, a, b):
        c = self.cluster
        offer = c.ng(dict({"command": "offer", "call-id": cid,
                           "from-tag": "tag-a",
                           "sdp": make_sdp(offer_addr,
                                           [("audio", a.port, "0")])},
                          **extra))
        self.assertEqual(offer.get("result"), "ok", offer)
        answer = c.ng({"command": "answer", "call-id": cid,
                       "from-tag": "tag-a", "to-tag": "tag-b",
                       "sdp": make_sdp("127.0.0.3", [("audio", b.port, "0")],
                                       origin_user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        self.addCleanup(c.ng, {"command": "delete", "call-id": cid})
        return media_ports(offer["sdp"])[0], offer

    def test_sip_source_address(self):
        # the SDP names an address nobody listens on; with
        # SIP-source-address the relay sends to received-from instead
        a, b = RtpEndpoint("127.0.0.2"), RtpEndpoint("127.0.0.3")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        port, _ = self.offer_answer(
            "flags-sipsrc@test", "127.0.0.66",
            {"flags": ["SIP-source-address"],
             "received-from": ["IP4", "127.0.0.2"]}, a, b)
        sent, got = self.relay(b, a, port, n=5)
        self.assertEqual(len(got), 5, "media not sent to received-from")

    def test_trust_address_wins(self):
        a, b = RtpEndpoint("127.0.0.2"), RtpEndpoint("127.0.0.3")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        port, _ = self.offer_answer(
            "flags-trust@test", "127.0.0.2",
            {"flags": ["SIP-source-address", "trust-address"],
             "received-from": ["IP4", "127.0.0.66"]}, a, b)
        sent, got = self.relay(b, a, port, n=5)
        self.assertEqual(len(got), 5, "trust-address did not use the SDP")

    def test_media_address_label_via_branch(self):
        a, b = RtpEndpoint("127.0.0.2"), RtpEndpoint("127.0.0.3")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        cid = "flags-maddr@test"
        _, offer = self.offer_answer(
            cid, "127.0.0.2",
            {"media-address": "127.0.0.77", "label": "caller",
             "via-branch": "z9hG4bK-1", "direction": ["internal", "external"],
             "replace": ["origin", "session-connection"]}, a, b)
        sdp = parse_sdp(offer["sdp"])
        self.assertIn("c=IN IP4 127.0.0.77", offer["sdp"])
        self.assertNotIn("127.0.0.2", offer["sdp"])
        self.assertEqual(len(sdp["media"]), 1)
        q = self.cluster.ng({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "ok", q)
        self.assertEqual(q["tags"]["tag-a"].get("label"), "caller", q)

    def test_delete_delay(self):
        a, b, pa, pb = self.setup_call("flags-delay@test")
        c = self.cluster
        d = c.ng({"command": "delete", "call-id": "flags-delay@test",
                  "delete-delay": 2})
        self.assertEqual(d["result"], "ok", d)
        # still there (media keeps flowing) during the delay ...
        self.assertIn("flags-delay@test", self.calls_listed())
        sent, got = self.relay(a, b, pa[0], n=3)
        self.assertEqual(len(got), 3, "media stopped before the delay")
        # ... and gone after it, ports included
        wait_until(lambda: "flags-delay@test" not in self.calls_listed(), 6,
                   what="the delayed delete")
        wait_until(lambda: not udp_port_bound(pa[0]), 3,
                   what="the ports to close")


class MediaTimeoutTest(CallMixin, ClusterTestCase):
    overrides = {"relayd": {"media_timeout": 3}, "ctld": {"delete_delay": 0}}

    def test_media_timeout_ends_call(self):
        c = self.cluster
        cid = "timeout-1@test"
        key = "rtpsec:call:{%s}" % cid
        t0 = c.settled_metric("rtpsec_calls_timedout_total")
        a, b, pa, pb = self.setup_call(cid)
        keep = "timeout-live@test"
        a2, b2, pa2, pb2 = self.setup_call(keep)
        sent, got = self.relay(a, b, pa[0], 3)
        self.assertEqual(len(got), 3)
        # the second call keeps talking, the first goes silent
        start = time.monotonic()
        gone = None
        while time.monotonic() - start < 12:
            a2.send_rtp((RELAY, pa2[0]), 1)
            b2.send_rtp((RELAY, pb2[0]), 1)
            if gone is None and cid not in self.calls_listed():
                gone = time.monotonic() - start
            if gone is not None and time.monotonic() - start > 6:
                break
            time.sleep(0.3)
        log("silent call ended after %s s" % gone)
        self.assertIsNotNone(gone, "the silent call did not time out")
        # the last packet went out just before start: silent for at
        # least media_timeout (3 s) before the call may end
        self.assertGreaterEqual(gone, 2.9, "ended before media_timeout")
        self.assertIn(keep, self.calls_listed(),
                      "a call with media must not time out")
        self.assertNotIn(cid, c.ctl("list", "sessions").stdout.split())
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 0, 3,
                   what="the record to go")
        self.assertEqual(c.redis_cmd("SISMEMBER", "rtpsec:node:it-node:calls",
                                     cid), 0)
        self.assertFalse(udp_port_bound(pa[0]))
        q = c.ng({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "error", q)
        c.wait_metric("rtpsec_calls_timedout_total",
                      lambda v: v - t0 == 1, daemon="ctld")
        c.wait_metric("rtpsec_relay_timeouts_total", lambda v: v == 1,
                      daemon="relayd")
        # the live call still relays
        b2.drain()
        sent, got = self.relay(a2, b2, pa2[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        c.ng({"command": "delete", "call-id": keep})

    def test_new_call_after_timeout_survives_repeated_events(self):
        """relayd repeats its timeout event three times, a second apart;
        a call offered again with the same call-id in between (a retried
        INVITE) is another call and must not be ended by them."""
        c = self.cluster
        cid = "timeout-again@test"
        sdp = make_sdp("127.0.0.2", [("audio", 40600, "0")])
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "a",
                  "sdp": sdp})
        self.assertEqual(r["result"], "ok", r)
        wait_until(lambda: cid not in self.calls_listed(), 8,
                   what="the media timeout")
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "a",
                  "sdp": sdp})
        self.assertEqual(r["result"], "ok", r)
        port = media_ports(r["sdp"])[0]
        for _ in range(5):              # 2.5 s < media_timeout (3 s)
            time.sleep(0.5)
            self.assertIn(cid, self.calls_listed(),
                          "a stale timeout event ended the new call")
        relayd = c.zmq_request("relayd", {"v": 1, "op": "call_list",
                                          "id": 5})["calls"]
        self.assertIn(cid, relayd)
        c.ng({"command": "delete", "call-id": cid})
        self.assertFalse(udp_port_bound(port))


class RestartTest(CallMixin, ClusterTestCase):
    """Each daemon restarts on its own (DESIGN.md: supervisord restarts a
    crashed daemon without losing running calls)."""
    overrides = {"ctld": {"delete_delay": 0}}

    def test_ctld_restart_keeps_calls(self):
        c = self.cluster
        cid = "restart-ctld@test"
        a, b, pa, pb = self.setup_call(cid)
        sent, got = self.relay(a, b, pa[0], 5)
        self.assertEqual(len(got), 5)
        c.restart("ctld")
        # the call comes back from Redis; media never stopped
        self.assertIn(cid, self.calls_listed())
        sent, got = self.relay(b, a, pb[0], 5)
        self.assertEqual([g[0] for g in got], sent)
        q = c.ng({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "ok", q)
        self.assertEqual(q["totals"]["RTP"]["packets"], 10, q["totals"])
        self.assertEqual(set(q["tags"]), {"tag-a", "tag-b"})
        # a re-offer after the restart keeps the ports
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "tag-a",
                  "sdp": make_sdp("127.0.0.2", [("audio", a.port,
                                                 "0 8 101")])})
        self.assertEqual(r["result"], "ok", r)
        self.assertEqual(media_ports(r["sdp"]), pb)
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d["result"], "ok", d)
        self.assertNotIn("warning", d)
        wait_until(lambda: not udp_port_bound(pa[0]) and
                   not udp_port_bound(pb[0]), 3, what="ports to close")
        self.assertEqual(c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % cid), 0)

    def test_relayd_restart_keeps_calls(self):
        c = self.cluster
        cid = "restart-relayd@test"
        a, b, pa, pb = self.setup_call(cid)
        sent, got = self.relay(a, b, pa[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        sent, got = self.relay(b, a, pb[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        for how in ("restart", "kill"):
            if how == "restart":
                c.restart("relayd")
            else:
                c.procs["relayd"].kill()
                c.procs["relayd"].wait(5)
                c._start_daemon("relayd")
                c.wait_ready("relayd")
            # relayd read the call back from Redis: same ports, latched
            # peers, media both ways at once; ctld keeps the call
            self.assertTrue(udp_port_bound(pa[0]) and udp_port_bound(pb[0]))
            sent, got = self.relay(a, b, pa[0], 3)
            self.assertEqual([g[0] for g in got], sent, how)
            sent, got = self.relay(b, a, pb[0], 3)
            self.assertEqual([g[0] for g in got], sent, how)
            self.assertIn(cid, self.calls_listed())
            self.assertIn("1 calls restored", c.log_text("relayd"))
        # a stranger still cannot take the latched leg over
        m = RtpEndpoint("127.0.0.4")
        self.addCleanup(m.close)
        m.send_rtp((RELAY, pa[0]), 3)
        self.assertEqual(b.recv_rtp(3, timeout=0.3), [])
        d = c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(d["result"], "ok", d)
        wait_until(lambda: c.redis_cmd("EXISTS", "rtpsec:relay:{%s}" % cid)
                   == 0, 3, what="the relay record to go")
        # and new calls work at once
        cid2 = "after-relayd@test"
        a2, b2, pa2, pb2 = self.setup_call(cid2)
        sent, got = self.relay(a2, b2, pa2[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        c.ng({"command": "delete", "call-id": cid2})

    def test_relayd_restart_while_redis_hangs(self):
        c = self.cluster
        cid = "restart-relayd-noredis@test"
        a, b, pa, pb = self.setup_call(cid)
        sent, got = self.relay(a, b, pa[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        # Redis stops answering (its data intact), and relayd dies
        c.redis.send_signal(signal.SIGSTOP)
        try:
            c.procs["relayd"].kill()
            c.procs["relayd"].wait(5)
            c._start_daemon("relayd")
            c.wait_ready("relayd")
            # relayd cannot restore yet; ctld must not take its empty
            # list for the call lost (reconcile runs every second)
            time.sleep(2.5)
            self.assertIn(cid, self.calls_listed())
            self.assertIn("retrying every second", c.log_text("relayd"))
        finally:
            c.redis.send_signal(signal.SIGCONT)
        wait_until(lambda: udp_port_bound(pa[0]) and udp_port_bound(pb[0]),
                   5, what="relayd to restore the call once Redis answers")
        sent, got = self.relay(a, b, pa[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        sent, got = self.relay(b, a, pb[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        self.assertIn(cid, self.calls_listed())
        d = c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(d["result"], "ok", d)

    def test_statsd_and_keyd_restart(self):
        c = self.cluster
        cid = "restart-statsd@test"
        a, b, pa, pb = self.setup_call(cid)
        self.relay(a, b, pa[0], 4)
        # keyd down: statsd says so after down_after_ms, /health is 503
        c._stop_proc(c.procs["keyd"])
        c.wait_metric("rtpsec_daemon_up", lambda v: v == 0, daemon="keyd")
        st, body = c.http_get("/health")
        self.assertEqual(st, 503, body)
        self.assertFalse(json.loads(body)["daemons"]["keyd"]["up"], body)
        c._start_daemon("keyd")
        c.wait_ready("keyd")
        c.wait_metric("rtpsec_daemon_up", lambda v: v == 1, daemon="keyd")
        c.restart("statsd")
        # a new statsd carries on from the totals it saved in Redis
        before = c.settled_metric("rtpsec_packets_relayed_total")
        self.assertGreaterEqual(before, 4)
        c.wait_metric("rtpsec_daemon_up", lambda v: v == 1, daemon="keyd")
        sent, got = self.relay(b, a, pb[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        c.wait_metric("rtpsec_packets_relayed_total",
                      lambda v: v == before + 3)
        c.ng({"command": "delete", "call-id": cid})


class RedisOutageTest(CallMixin, ClusterTestCase):
    """docs/redis.md: ctld keeps working from memory while Redis is
    down, counts the failures and writes the backlog when it is back."""
    overrides = {"ctld": {"delete_delay": 0}}

    def test_calls_work_without_redis(self):
        c = self.cluster
        e0 = c.settled_metric("rtpsec_redis_errors_total")
        c.stop_redis()
        t = time.monotonic()
        a, b, pa, pb = self.setup_call("no-redis-1@test")
        self.assertLess(time.monotonic() - t, 1.0,
                        "the ng hot path must not wait for Redis")
        sent, got = self.relay(a, b, pa[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        self.setup_call("no-redis-2@test")
        d = c.ng({"command": "delete", "call-id": "no-redis-2@test"})
        self.assertEqual(d["result"], "ok", d)
        c.wait_metric("rtpsec_redis_errors_total", lambda v: v > e0)
        c.start_redis()
        # the backlog: the live call written, the deleted one not
        key = "rtpsec:call:{no-redis-1@test}"
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 1, 5,
                   what="the queued record write")
        self.assertEqual(c.redis_cmd("SMEMBERS",
                                     "rtpsec:node:it-node:calls"),
                         [b"no-redis-1@test"])
        self.assertEqual(c.redis_cmd("EXISTS",
                                     "rtpsec:call:{no-redis-2@test}"), 0)
        self.assertGreater(c.redis_cmd("TTL", key), 0)
        d = c.ng({"command": "delete", "call-id": "no-redis-1@test"})
        self.assertEqual(d["result"], "ok", d)
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 0, 3,
                   what="the record to go")


class ReloadTest(CallMixin, ClusterTestCase):
    """SIGHUP re-reads the configuration file (the daemons are chrooted
    by then); [relayd] settings keep their start-up values, others apply."""
    overrides = {"ctld": {"delete_delay": 0}}

    def sighup_all(self):
        for d in ("keyd", "relayd", "ctld", "statsd"):
            self.cluster.procs[d].send_signal(signal.SIGHUP)
        time.sleep(1.0)

    def test_sighup(self):
        c = self.cluster
        with open(c.conf) as f:
            orig = f.read()
        # an unreadable file: everything keeps running on the old one
        with open(c.conf, "w") as f:
            f.write("[relayd]\nno_such_option = 1\n")
        self.sighup_all()
        c.check_alive()
        for d in ("relayd", "ctld"):
            self.assertIn("keeping the old configuration", c.log_text(d))
        # a new interface for relayd (ignored until a restart) and a
        # delete delay for ctld (applies now)
        with open(c.conf, "w") as f:
            f.write(orig.replace("interface = 127.0.0.1",
                                 "interface = 127.0.0.9")
                    .replace("delete_delay = 0", "delete_delay = 30"))
        self.sighup_all()
        c.check_alive()
        self.assertIn("SIGHUP: configuration reloaded",
                      c.log_text("ctld"))
        cid = "reload@test"
        a, b, pa, pb = self.setup_call(cid)
        r = c.ng({"command": "query", "call-id": cid})
        st = r["tags"]["tag-a"]["medias"][0]["streams"][0]
        self.assertEqual(st["local address"], RELAY)
        sent, got = self.relay(a, b, pa[0], 3)
        self.assertEqual([g[0] for g in got], sent)
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d["result"], "ok", d)
        time.sleep(0.5)
        self.assertIn(cid, self.calls_listed(), "delete_delay not applied")
        d = c.ng({"command": "delete", "call-id": cid, "delete-delay": 0})
        self.assertNotIn(cid, self.calls_listed())
        with open(c.conf, "w") as f:
            f.write(orig)


class RecordTtlTest(CallMixin, ClusterTestCase):
    """A call that outlives call_ttl keeps its Redis record (the TTL is
    refreshed while the call lives), so a ctld restart still finds it."""
    overrides = {"ctld": {"delete_delay": 0, "call_ttl": 2}}

    def test_ttl_refreshed_while_call_lives(self):
        c = self.cluster
        cid = "long-call@test"
        key = "rtpsec:call:{%s}" % cid
        a, b, pa, pb = self.setup_call(cid)
        for _ in range(10):             # 5 s: more than twice call_ttl
            a.send_rtp((RELAY, pa[0]), 1)
            ttl = c.redis_cmd("TTL", key)
            self.assertTrue(0 < ttl <= 2, "TTL %r: record expired" % ttl)
            self.assertEqual(c.redis_cmd("SISMEMBER",
                                         "rtpsec:node:it-node:calls", cid), 1)
            time.sleep(0.5)
        c.restart("ctld")
        self.assertIn(cid, self.calls_listed())
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "tag-a"})
        self.assertEqual(d["result"], "ok", d)
        self.assertNotIn("warning", d)
        wait_until(lambda: c.redis_cmd("EXISTS", key) == 0, 3,
                   what="the record to go")
        self.assertFalse(udp_port_bound(pa[0]))


class LoadLimitTest(CallMixin, ClusterTestCase):
    """max_sessions: a new call beyond it gets `load limit` when the
    client supports it (Kamailio tries the next node), else the legacy
    error; a re-offer of a running call is not a new session."""
    overrides = {"ctld": {"delete_delay": 0, "max_sessions": 1}}

    def test_load_limit(self):
        c = self.cluster
        sdp = make_sdp("127.0.0.2", [("audio", 40300, "0")])
        used0 = c.settled_metric("rtpsec_ports_used")
        for _ in range(2):
            r = c.ng({"command": "offer", "call-id": "ll-1", "from-tag": "a",
                      "sdp": sdp})
            self.assertEqual(r["result"], "ok", r)
        r = c.ng({"supports": ["load limit"], "command": "offer",
                  "call-id": "ll-2", "from-tag": "a", "sdp": sdp})
        self.assertEqual(r, {"result": "load limit",
                             "message": "Parallel session limit reached"})
        r = c.ng({"command": "offer", "call-id": "ll-2", "from-tag": "a",
                  "sdp": sdp})
        self.assertEqual(r, {"result": "error", "error-reason":
                             "Parallel session limit reached"})
        self.assertEqual(self.calls_listed(), ["ll-1"])
        c.wait_metric("rtpsec_ports_used", lambda v: v == used0 + 4)
        c.wait_metric("rtpsec_ng_requests_total", lambda v: v == 1,
                      command="offer", result="load_limit")
        c.ng({"command": "delete", "call-id": "ll-1"})
        r = c.ng({"command": "offer", "call-id": "ll-2", "from-tag": "a",
                  "sdp": sdp})
        self.assertEqual(r["result"], "ok", r)
        c.ng({"command": "delete", "call-id": "ll-2"})


class PortExhaustionTest(CallMixin, ClusterTestCase):
    """The media window (200 ports = 100 RTP/RTCP pairs, one pair per leg
    and m= line) runs out: `Ran out of ports` (Kamailio tries the next
    node on exactly this reason), nothing leaks, and, as in rtpengine, a
    re-offer or answer that runs out destroys its call."""
    overrides = {"ctld": {"delete_delay": 0}}

    def used(self):
        return self.cluster.settled_metric("rtpsec_ports_used")

    def test_ran_out_of_ports(self):
        c = self.cluster
        npairs = (c.port_max - c.port_min + 1) // 2
        self.assertEqual(self.used(), 0)
        one = make_sdp("127.0.0.2", [("audio", 40400, "0")])
        ids = ["px-%d" % i for i in range(npairs // 2 - 2)]
        for cid in ids:
            r = c.ng({"command": "offer", "call-id": cid, "from-tag": "a",
                      "sdp": one})
            self.assertEqual(r["result"], "ok", (cid, r))
        # 4 pairs left: a 3-media offer gets 3 for its first leg, then fails
        left = npairs - 2 * len(ids)
        self.assertEqual(left, 4)
        r = c.ng({"command": "offer", "call-id": "px-big", "from-tag": "a",
                  "sdp": make_sdp("127.0.0.2", [("audio", 40400, "0")] * 3)})
        self.assertEqual(r, {"result": "error",
                             "error-reason": "Ran out of ports"})
        self.assertNotIn("px-big", self.calls_listed())
        self.assertEqual(self.used(), 2 * (npairs - left))
        # a re-offer that grows px-0 from 1 to 3 media: destroyed
        r = c.ng({"command": "offer", "call-id": ids[0], "from-tag": "a",
                  "sdp": make_sdp("127.0.0.2", [("audio", 40400, "0")] * 4)})
        self.assertEqual(r["error-reason"], "Ran out of ports", r)
        listed = c.ng({"command": "list", "limit": 1000})["calls"]
        self.assertNotIn(ids[0], listed)
        self.assertEqual(c.redis_cmd("EXISTS", "rtpsec:call:{%s}" % ids[0]),
                         0)
        self.assertEqual(self.used(), 2 * (npairs - left - 2))
        # an answer with more media than ports: destroyed as well
        r = c.ng({"command": "answer", "call-id": ids[1], "from-tag": "a",
                  "to-tag": "b", "sdp": make_sdp(
                      "127.0.0.3", [("audio", 40500, "0")] * 6)})
        self.assertEqual(r["error-reason"], "Ran out of ports", r)
        self.assertNotIn(ids[1], c.ng({"command": "list", "limit": 1000})[
            "calls"])
        self.assertEqual(self.used(), 2 * (npairs - left - 4))
        # relayd and ctld agree on what is left
        relayd_calls = c.zmq_request("relayd", {"v": 1, "op": "call_list",
                                                "id": 9})["calls"]
        self.assertEqual(sorted(relayd_calls),
                         sorted(c.ng({"command": "list",
                                      "limit": 1000})["calls"]))
        for cid in ids:
            c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(self.used(), 0)
        # and everything is usable again
        a, b, pa, pb = self.setup_call("px-after")
        sent, got = self.relay(a, b, pa[0], 2)
        self.assertEqual([g[0] for g in got], sent)
        c.ng({"command": "delete", "call-id": "px-after"})


if __name__ == "__main__":
    unittest.main()
