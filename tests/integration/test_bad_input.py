"""
Hostile input against the real daemons: garbage, truncated, oversized and
ill-typed ng messages (UDP, TCP, bencode, JSON, SDP), junk on the media
ports, and malformed msgpack on every daemon's ZeroMQ ROUTER socket.

Each is either answered with an rtpengine-style error (ng: result error +
error-reason; ZeroMQ: ok false + error) or dropped and counted; after every
test all daemons are still running (ClusterTestCase.tearDown) and a call
set up before any abuse still relays media both ways.
"""
import random
import socket
import unittest

from cluster import (Cluster, ClusterTestCase, RtpEndpoint, bencode, bdecode,
                     make_sdp, mp_pack, mp_unpack, parse_sdp,
                     log)

RELAY = "127.0.0.1"


def ports(sdp):
    return [m["port"] for m in parse_sdp(sdp)["media"]]


class BadInputTest(ClusterTestCase):
    overrides = {"ctld": {"delete_delay": 0}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.cluster
        # the call that must survive everything below
        cls.a = RtpEndpoint("127.0.0.2")
        cls.b = RtpEndpoint("127.0.0.3")
        o = c.ng({"command": "offer", "call-id": "survivor@test",
                  "from-tag": "sa", "sdp": make_sdp(
                      "127.0.0.2", [("audio", cls.a.port, "0")])})
        assert o["result"] == "ok", o
        r = c.ng({"command": "answer", "call-id": "survivor@test",
                  "from-tag": "sa", "to-tag": "sb", "sdp": make_sdp(
                      "127.0.0.3", [("audio", cls.b.port, "0")])})
        assert r["result"] == "ok", r
        cls.pa, cls.pb = ports(r["sdp"])[0], ports(o["sdp"])[0]
        cls.check_survivor_media()

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()
        super().tearDownClass()

    @classmethod
    def check_survivor_media(cls):
        for src, dst, port in ((cls.a, cls.b, cls.pa),
                               (cls.b, cls.a, cls.pb)):
            dst.drain()
            sent = src.send_rtp((RELAY, port), 3)
            got = [g[0] for g in dst.recv_rtp(3, timeout=2.0)]
            assert got == sent, "survivor call: %d of 3 packets relayed" % \
                len(got)

    def tearDown(self):
        super().tearDown()
        self.check_survivor_media()
        q = self.cluster.ng({"command": "query", "call-id": "survivor@test"})
        self.assertEqual(q["result"], "ok", q)

    # ------------------------------------------------------------ helpers
    def ng_error(self, payload, what):
        """payload (after the cookie) must get an ng error reply."""
        c = self.cluster
        cookie = c.cookie().encode()
        raw = c.ng_raw(cookie + b" " + payload)
        self.assertIsNotNone(raw, "no reply to %s" % what)
        rc, _, body = raw.partition(b" ")
        self.assertEqual(rc, cookie, what)
        if payload[:1] == b"{":
            import json
            r = json.loads(body)
        else:
            r = bdecode(body)
        self.assertEqual(r.get("result"), "error", "%s: %r" % (what, r))
        self.assertIsInstance(r.get("error-reason"), str, what)
        self.assertTrue(r["error-reason"], what)
        return r["error-reason"]

    def dropped(self, name, **labels):
        return self.cluster.settled_metric(name, **labels)

    # ------------------------------------------------------------ ng: framing
    def test_ng_garbage_without_cookie_is_dropped_and_counted(self):
        c = self.cluster
        n0 = self.dropped("rtpsec_ng_dropped_total", reason="no_cookie")
        rnd = random.Random(7)
        junk = [b"", b" ", b"  leading-space d7:command4:pinge",
                b"d7:command4:pinge", b"\x00" * 100,
                bytes(rnd.getrandbits(8) for _ in range(1400)).replace(
                    b" ", b"x")]
        for j in junk:
            self.assertIsNone(c.ng_raw(j, timeout=0.3), j[:40])
        # the zero-length datagram may or may not be counted; the others are
        c.wait_metric("rtpsec_ng_dropped_total",
                      lambda v: v - n0 >= len(junk) - 1, reason="no_cookie")
        self.assertEqual(c.ng({"command": "ping"}), {"result": "pong"})

    def test_ng_framing_errors(self):
        self.assertEqual(self.ng_error(b"", "empty payload"),
                         "Invalid data (no payload)")
        self.assertEqual(self.ng_error(b"hello", "not bencode"),
                         "Invalid NG data format")
        self.assertEqual(self.ng_error(b"\xff\xfe\x00garbage", "binary"),
                         "Invalid NG data format")
        self.assertEqual(self.ng_error(b"d7:command4:pin", "truncated"),
                         "Could not decode bencode dictionary")
        self.assertEqual(self.ng_error(b"d7:call-id2:e1e", "no command"),
                         'Dictionary contains no key "command"')

    def test_ng_broken_bencode(self):
        cases = [
            b"d", b"de" + b"x", b"d7:command", b"d7:command4:pingi1e",
            b"d7:command4:ping", b"di1e4:pinge", b"d4:pingi1ee" + b"e",
            b"d7:command99999999999999999999:x", b"d7:command-1:xe",
            b"d7:command4294967296:xe", b"d7:command18446744073709551616:xe",
            b"d7:commandi99999999999999999999999999ee",
            b"d7:commandi-e e", b"d7:commandie", b"d7:command01:xe",
            b"d7:commandl" * 1 + b"e",
            b"d1:a" + b"l" * 30000 + b"e" * 30000 + b"e",
            b"d1:a" + b"d1:a" * 10000 + b"e" * 10001,
            b"d7:command4:ping3:sdp5:abce",
            b"d7:command\x00:pinge", b"d7:commandx4:pinge",
            b"d3:sdp" + b"9" * 64 + b":e",
        ]
        for p in cases:
            self.ng_error(p, "bencode %r" % p[:40])

    def test_ng_broken_json(self):
        cases = [b"{", b'{"command": "ping"', b'{"command": 1}',
                 b'{"command": ["offer"]}', b'{"a":' + b"[" * 60000,
                 b'{"a":' + b'{"a":' * 12000,
                 b'{"command":"ping",}', b'{"command":"p\\ud800ing"}',
                 b'{"command":"ping"} trailing', b'{"a":1e999999999}',
                 b'{"command":"\x00"}', b"{}"]
        for p in cases:
            self.ng_error(p, "json %r" % p[:40])

    def test_ng_wrong_types(self):
        sdp = make_sdp("127.0.0.2", [("audio", 40100, "0")])
        cases = [
            {"command": 1},
            {"command": ["offer"]},
            {"command": {"x": "offer"}},
            {"command": "offer", "call-id": 5, "from-tag": "a", "sdp": sdp},
            {"command": "offer", "call-id": ["x"], "from-tag": "a",
             "sdp": sdp},
            {"command": "offer", "call-id": "wt", "from-tag": {}, "sdp": sdp},
            {"command": "offer", "call-id": "wt", "from-tag": "a", "sdp": 17},
            {"command": "offer", "call-id": "", "from-tag": "a", "sdp": sdp},
            {"command": "answer", "call-id": "wt", "from-tag": "a",
             "to-tag": 3, "sdp": sdp},
            {"command": "query", "call-id": 12},
            {"command": "delete", "call-id": ["a", "b"]},
        ]
        for d in cases:
            self.ng_error(bencode(d), "types %r" % d)
        # top-level values that are not a dict
        for p in (b"l7:command4:pinge", b"i1e", b"4:ping"):
            self.ng_error(p, "top level %r" % p)
        self.assertNotIn("wt", self.cluster.ng({"command": "list"})["calls"])

    def test_ng_oversized_datagrams(self):
        c = self.cluster
        # a valid 65000-byte ping (a long unknown key) still answers
        pad = "x" * (65000 - 60)
        cookie = c.cookie().encode()
        msg = cookie + b" " + bencode({"padding": pad, "command": "ping"})
        self.assertGreater(len(msg), 64900)
        raw = c.ng_raw(msg)
        self.assertEqual(raw, cookie + b" d6:result4:ponge")
        # 65000 bytes of junk after a bencode start
        self.ng_error(b"d" + b"9" * 64990, "65000-byte junk")
        self.ng_error(b"d7:command4:ping" + b"x" * 64900, "65000 trailing")
        # the largest UDP datagram
        n0 = self.dropped("rtpsec_ng_dropped_total")
        r = c.ng_raw(b"big " + b"{" * (65507 - 4), timeout=2)
        if r is not None:
            self.assertTrue(r.startswith(b"big "), r[:40])
        else:
            c.wait_metric("rtpsec_ng_dropped_total", lambda v: v > n0)
        # an offer whose SDP alone is 64 KB
        sdp = make_sdp("127.0.0.2", [("audio", 40104, "0")],
                       media_extra=[["a=x-pad:%s" % ("y" * 200)] * 300])
        r = c.ng({"command": "offer", "call-id": "big-sdp@test",
                  "from-tag": "a", "sdp": sdp[:64000]})
        self.assertIn(r["result"], ("ok", "error"), r)
        if r["result"] == "ok":
            c.ng({"command": "delete", "call-id": "big-sdp@test"})

    def test_ng_tcp_garbage(self):
        c = self.cluster
        n0 = self.dropped("rtpsec_ng_dropped_total", reason="tcp_malformed")
        for junk in (b"garbage without a space" * 20 + b"\n",
                     b"c1 hello\r\n", b"\x00\x01\x02 \xff\xfe",
                     b"c2 d7:command" + b"9" * 100 + b":"):
            with c.ng_tcp_conn(timeout=2) as s:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                data = b""
                try:
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        data += d
                except (socket.timeout, ConnectionResetError):
                    pass
                log("tcp %r -> %r" % (junk[:20], data[:80]))
        # an endless "cookie" (no space ever) must not grow a buffer forever
        with c.ng_tcp_conn(timeout=5) as s:
            try:
                for _ in range(64):
                    s.sendall(b"x" * 65536)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
        # an endless bencode string must be cut off too (NG_TCP_MAX)
        with c.ng_tcp_conn(timeout=5) as s:
            try:
                s.sendall(b"c3 d3:sdp99999999:")
                for _ in range(40):
                    s.sendall(b"y" * 65536)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
        c.wait_metric("rtpsec_ng_dropped_total", lambda v: v > n0,
                      reason="tcp_malformed")
        self.assertEqual(c.ng_tcp({"command": "ping"}), {"result": "pong"})
        # many connections at once that never send anything must not
        # lock a real client out
        socks = []
        for _ in range(100):
            try:
                socks.append(c.ng_tcp_conn(timeout=2))
            except OSError:
                break
        self.assertEqual(c.ng({"command": "ping"}), {"result": "pong"})
        self.assertEqual(c.ng_tcp({"command": "ping"}), {"result": "pong"})
        for s in socks:
            s.close()
        self.assertEqual(c.ng_tcp({"command": "ping"}), {"result": "pong"})

    # ------------------------------------------------------------ ng: SDP
    def test_ng_broken_sdp(self):
        c = self.cluster

        def offer(sdp, cid):
            return c.ng({"command": "offer", "call-id": cid, "from-tag": "a",
                         "sdp": sdp})

        must_fail = {
            "garbage": "garbage",
            "no-m": "v=0\r\no=x 1 1 IN IP4 127.0.0.2\r\ns=-\r\n"
                    "c=IN IP4 127.0.0.2\r\nt=0 0\r\n",
            "port-nan": make_sdp("127.0.0.2", [("audio", 0, "0")]).replace(
                "m=audio 0 ", "m=audio abc "),
            "port-big": make_sdp("127.0.0.2", [("audio", 0, "0")]).replace(
                "m=audio 0 ", "m=audio 99999 "),
            "port-neg": make_sdp("127.0.0.2", [("audio", 0, "0")]).replace(
                "m=audio 0 ", "m=audio -2 "),
            "no-c": "v=0\r\no=x 1 1 IN IP4 127.0.0.2\r\ns=-\r\nt=0 0\r\n"
                    "m=audio 40000 RTP/AVP 0\r\n",
            "bad-c": make_sdp("127.0.0.2", [("audio", 40000, "0")]).replace(
                "c=IN IP4 127.0.0.2", "c=IN IP4 999.1.2.3"),
            "no-v": "o=x 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2"
                    "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
            "m-short": make_sdp("127.0.0.2", [("audio", 40000, "0")]).replace(
                "m=audio 40000 RTP/AVP 0", "m=audio"),
        }
        for name, sdp in must_fail.items():
            r = offer(sdp, "badsdp-%s@test" % name)
            self.assertEqual(r.get("result"), "error", "%s: %r" % (name, r))
            self.assertTrue(r.get("error-reason"), name)
        # odd but survivable: an answer or an error, never a crash
        big = make_sdp("127.0.0.2", [("audio", 40000 + 2 * i, "0")
                                     for i in range(40)])
        odd = {
            "nul": make_sdp("127.0.0.2", [("audio", 40000, "0")]).replace(
                "s=rtpsec-test", "s=a\x00b"),
            "lf-only": make_sdp("127.0.0.2",
                                [("audio", 40000, "0")]).replace("\r\n", "\n"),
            "no-eq": make_sdp("127.0.0.2", [("audio", 40000, "0")]) +
            "this line has no equals sign\r\n",
            "long-line": make_sdp("127.0.0.2", [("audio", 40000, "0")],
                                  media_extra=[["a=x:" + "z" * 20000]]),
            "many-fmts": make_sdp("127.0.0.2", [("audio", 40000, " ".join(
                str(i % 128) for i in range(3000)))]),
            "40-media": big,
            "c-ip6": make_sdp("127.0.0.2", [("audio", 40000, "0")]).replace(
                "c=IN IP4 127.0.0.2", "c=IN IP6 ::1"),
            "rtcp-junk": make_sdp("127.0.0.2", [("audio", 40000, "0")],
                                  media_extra=[["a=rtcp:abc IN IP4 x"]]),
            "rtcp-big": make_sdp("127.0.0.2", [("audio", 40000, "0")],
                                 media_extra=[["a=rtcp:70000"]]),
            "port-65535": make_sdp("127.0.0.2", [("audio", 65535, "0")]),
            "port-count": make_sdp("127.0.0.2", [("audio", 0, "0")]).replace(
                "m=audio 0 ", "m=audio 40000/2 "),
            "empty-lines": make_sdp("127.0.0.2",
                                    [("audio", 40000, "0")]) + "\r\n\r\n",
            "utf8": make_sdp("127.0.0.2", [("audio", 40000, "0")]).replace(
                "s=rtpsec-test", "s=\u00e9\u00e8\u2603"),
        }
        used0 = self.dropped("rtpsec_ports_used")
        for name, sdp in odd.items():
            cid = "oddsdp-%s@test" % name
            r = offer(sdp, cid)
            log("odd SDP %s -> %s %s" % (name, r.get("result"),
                                           r.get("error-reason", "")))
            self.assertIn(r.get("result"), ("ok", "error"), "%s: %r" %
                          (name, r))
            if r["result"] == "ok":
                self.assertIn("\r\nm=", r["sdp"], name)
            d = c.ng({"command": "delete", "call-id": cid})
            self.assertEqual(d["result"], "ok", d)
        # every failed or deleted offer gave its ports back
        for name in list(must_fail) + list(odd):
            self.assertNotIn(name, " ".join(c.ng({"command": "list"})[
                "calls"]).replace("survivor", ""))
        c.wait_metric("rtpsec_ports_used", lambda v: v == used0,
                      daemon="relayd")

    # ------------------------------------------------------------ media
    def test_media_garbage_dropped_and_counted(self):
        c = self.cluster
        m0 = self.dropped("rtpsec_packets_dropped_total", reason="malformed")
        a = RtpEndpoint("127.0.0.2")
        b = RtpEndpoint("127.0.0.3")
        x = RtpEndpoint("127.0.0.5")
        for e in (a, b, x):
            self.addCleanup(e.close)
        cid = "garbage-media@test"
        o = c.ng({"command": "offer", "call-id": cid, "from-tag": "a",
                  "sdp": make_sdp("127.0.0.2", [("audio", a.port, "0")])})
        r = c.ng({"command": "answer", "call-id": cid, "from-tag": "a",
                  "to-tag": "b",
                  "sdp": make_sdp("127.0.0.3", [("audio", b.port, "0")])})
        pa, pb = ports(r["sdp"])[0], ports(o["sdp"])[0]
        rnd = random.Random(11)
        junk = [b"", b"\x80", b"\x80\x00", b"\x80" * 7, b"\x80\x00" + b"\0" * 9,
                b"\x00" * 12, b"\x40" * 40, b"\xc0" * 40,      # versions 0,1,3
                b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42" + b"\0" * 12,  # STUN
                b"\x16\xfe\xfd" + b"\0" * 40,                   # DTLS
                b"\x80\xc8\x00",                                # short RTCP
                bytes(rnd.getrandbits(8) for _ in range(3000)),  # > 2048
                b"\x80" + bytes(3999)]                          # big RTP
        junk += [bytes([0x3f & rnd.getrandbits(8)]) +
                 bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(60)))
                 for _ in range(30)]
        # junk from a third party first: it must neither pass nor latch
        for j in junk:
            x.rtp.sendto(j, (RELAY, pa))
            x.rtcp.sendto(j, (RELAY, pa + 1))
        for j in junk:
            a.rtp.sendto(j, (RELAY, pa))
        self.assertEqual(b.recv_rtp(1, timeout=0.5), [], "junk relayed")
        self.assertEqual(b.recv_rtcp(1, timeout=0.1), [], "junk relayed")
        # the real endpoint still latches and gets through
        sent = a.send_rtp((RELAY, pa), 3)
        self.assertEqual([g[0] for g in b.recv_rtp(3)], sent)
        sent = b.send_rtp((RELAY, pb), 3)
        self.assertEqual([g[0] for g in a.recv_rtp(3)], sent)
        q = c.ng({"command": "query", "call-id": cid})
        st = q["tags"]["a"]["medias"][0]["streams"]
        self.assertEqual(st[0]["endpoint"]["address"], "127.0.0.2", st[0])
        self.assertEqual(st[0]["endpoint"]["port"], a.port, st[0])
        njunk = 3 * len(junk)
        self.assertEqual(st[0]["stats"]["packets"], 3)
        self.assertEqual(st[0]["stats"]["errors"] + st[1]["stats"]["errors"],
                         njunk, (st, njunk))
        c.wait_metric("rtpsec_packets_dropped_total",
                      lambda v: v - m0 == njunk, reason="malformed")
        c.ng({"command": "delete", "call-id": cid})

    def test_media_flood_to_unallocated_and_freed_ports(self):
        c = self.cluster
        x = RtpEndpoint("127.0.0.5")
        self.addCleanup(x.close)
        # a port of the media window nobody holds, and one just freed
        o = c.ng({"command": "offer", "call-id": "freed@test",
                  "from-tag": "a",
                  "sdp": make_sdp("127.0.0.2", [("audio", 40200, "0")])})
        p = ports(o["sdp"])[0]
        c.ng({"command": "delete", "call-id": "freed@test"})
        for port in (p, p + 1, c.port_max, c.port_min):
            for _ in range(50):
                x.rtp.sendto(x.packet(), (RELAY, port))

    # ------------------------------------------------------------ ZeroMQ
    BAD_MSGPACK = [
        b"",                                   # empty frame
        b"\xc1",                               # never-used byte
        b"\x83\xa1v\x01",                      # truncated map
        b"\x93\x01\x02\x03",                   # an array, not a map
        b"\xa4ping",                           # a string
        mp_pack({"v": 1, "op": "ping"}),       # no id
        mp_pack({"v": 1, "op": "ping", "id": -5}),
        mp_pack({"v": 1, "op": "ping", "id": "7"}),
        mp_pack({"v": 1, "op": "ping", "id": 1}) + b"\x00",   # trailing
        b"\xdd\xff\xff\xff\xff",               # array32, 4G elements
        b"\xdf\xff\xff\xff\xff\xa1v\x01",      # map32, 4G pairs
        b"\xdb\xff\xff\xff\xffabc",            # str32 of 4 GB
        b"\xc6\x7f\xff\xff\xff",               # bin32 of 2 GB
        b"\x81\xa1a" + b"\x91" * 100000 + b"\xc0",   # deep nesting
        b"\x81\xa1a" + b"\x81\xa1a" * 50000 + b"\xc0",
        b"\xde\x00\x02\xa1v\x01\xa1v\x01",     # map16 with 2 entries, 1 given
        bytes(random.Random(3).getrandbits(8) for _ in range(4096)),
        b"\xc7\x05\x01abcde",                  # ext type
    ]
    # answered with ok:false (the id is readable) and counted
    BAD_WITH_ID = [
        {"v": 2, "op": "ping", "id": 11},
        {"v": 1, "op": "frobnicate", "id": 12},
        {"v": 1, "op": 7, "id": 13},
        {"v": "1", "op": "ping", "id": 14},
        {"id": 15},
    ]

    def zmq_abuse(self, d):
        c = self.cluster
        for i, p in enumerate(self.BAD_MSGPACK):
            rep = c.zmq_send(d, [p], timeout_ms=300)
            if rep is not None:
                self.assertEqual(len(rep), 1, (d, i, rep))
                m = mp_unpack(rep[0])
                self.assertIs(m.get("ok"), False, (d, i, m))
        for msg in self.BAD_WITH_ID:
            rep = c.zmq_request(d, msg, timeout_ms=1000)
            self.assertIsNotNone(rep, "%s did not answer %r" % (d, msg))
            self.assertEqual(rep.get("id"), msg["id"], rep)
            self.assertIs(rep.get("ok"), False, rep)
            self.assertIsInstance(rep.get("error"), str, rep)
        # multipart messages and a reply sent as a request
        self.assertIsNone(c.zmq_send(d, [mp_pack({"v": 1, "op": "ping",
                                                  "id": 21}), b"extra"],
                                     timeout_ms=300))
        rep = c.zmq_request(d, {"v": 1, "op": "ping", "id": 22, "ok": True},
                            timeout_ms=300)
        self.assertTrue(rep is None or rep.get("ok") is False, rep)
        # still serving
        rep = c.zmq_request(d, {"v": 1, "op": "ping", "id": 23})
        self.assertEqual((rep["ok"], rep["daemon"]), (True, d))

    def zmq_check_counted(self, d, n0, at_least):
        self.cluster.wait_metric(
            "rtpsec_ipc_dropped_total", lambda v: v - n0 >= at_least,
            daemon=d)

    def test_zmq_relayd(self):
        c = self.cluster
        n0 = self.dropped("rtpsec_ipc_dropped_total", daemon="relayd")
        self.zmq_abuse("relayd")
        base = {"v": 1, "id": 100}
        bad_fields = [
            {"op": "leg_alloc", "call": "zz", "leg": "L1", "media": 1000},
            {"op": "leg_alloc", "call": "", "leg": "L1", "media": 1},
            {"op": "leg_alloc", "call": "zz", "leg": "x" * 300, "media": 1},
            {"op": "leg_alloc", "call": "zz", "leg": "L1", "media": "1"},
            {"op": "leg_alloc", "call": "z\x00z", "leg": "L1", "media": 1},
            {"op": "leg_alloc", "call": "c" * 300, "leg": "L1", "media": 1},
            {"op": "leg_alloc", "leg": "L1", "media": 1},
            {"op": "leg_update", "call": "survivor@test", "leg": 5},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "media": "x"},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "media": [1, 2]},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "media": [{"index": 1, "addr": "not-an-ip", "rtp": 1,
                        "rtcp": 2}]},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "media": [{"index": 1, "addr": "127.0.0.9", "rtp": 70000,
                        "rtcp": 2}]},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "peer": 3},
            {"op": "call_delete", "call": 7},
            {"op": "call_delete", "call": "survivor@test", "leg": 7},
            {"op": "call_query", "call": ["x"]},
        ]
        for i, f in enumerate(bad_fields):
            rep = c.zmq_request("relayd", dict(base, id=200 + i, **f))
            self.assertIsNotNone(rep, f)
            self.assertIs(rep["ok"], False, (f, rep))
            self.assertEqual(rep["id"], 200 + i)
        # well-formed requests that must be refused without harm
        refused = [
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "media": [{"index": 0, "addr": "127.0.0.9", "rtp": 2,
                        "rtcp": 3}]},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "media": [{"index": 17, "addr": "127.0.0.9", "rtp": 2,
                        "rtcp": 3}]},
            {"op": "leg_update", "call": "no-such", "leg": "L1"},
            {"op": "leg_update", "call": "survivor@test", "leg": "nope"},
            {"op": "leg_update", "call": "survivor@test", "leg": "L1",
             "peer": "nope"},
            {"op": "call_delete", "call": "no-such"},
            {"op": "call_delete", "call": "survivor@test", "leg": "nope"},
            {"op": "call_query", "call": "no-such"},
            {"op": "ng", "cmd": {"command": "ping"}},
            {"op": "stats"},
        ]
        for i, f in enumerate(refused):
            rep = c.zmq_request("relayd", dict(base, id=300 + i, **f))
            self.assertIs(rep["ok"], False, (f, rep))
        # a huge request is read, not trusted
        rep = c.zmq_request("relayd", dict(base, id=400, op="leg_update",
                                           call="survivor@test", leg="L1",
                                           media=[{"index": 99}] * 5000))
        self.assertIs(rep["ok"], False, rep)
        self.zmq_check_counted("relayd", n0, len(self.BAD_MSGPACK) +
                               len(self.BAD_WITH_ID) + len(bad_fields))
        m = c.metrics()
        self.assertGreater(m.get("rtpsec_ipc_dropped_total", 0,
                                 daemon="relayd", reason="bad_field"), 0)
        self.assertGreater(m.get("rtpsec_ipc_dropped_total", 0,
                                 daemon="relayd", reason="unknown_op"), 0)
        self.assertIn("survivor@test",
                      c.zmq_request("relayd", dict(base, op="call_list"))[
                          "calls"])

    def test_zmq_keyd(self):
        c = self.cluster
        n0 = self.dropped("rtpsec_ipc_dropped_total", daemon="keyd")
        self.zmq_abuse("keyd")
        for i, op in enumerate(("leg_alloc", "call_query", "ng", "stats",
                                "event")):
            rep = c.zmq_request("keyd", {"v": 1, "op": op, "id": 500 + i})
            self.assertIs(rep["ok"], False, rep)
            self.assertEqual(rep["error"], "unknown op", rep)
        self.zmq_check_counted("keyd", n0, len(self.BAD_MSGPACK) +
                               len(self.BAD_WITH_ID) + 5)

    def test_zmq_ctld(self):
        c = self.cluster
        n0 = self.dropped("rtpsec_ipc_dropped_total", daemon="ctld")
        self.zmq_abuse("ctld")
        for i, cmd in enumerate((None, 5, "ping", [1, 2], b"\x00bin")):
            msg = {"v": 1, "op": "ng", "id": 600 + i}
            if cmd is not None:
                msg["cmd"] = cmd
            rep = c.zmq_request("ctld", msg)
            self.assertIs(rep["ok"], False, rep)
        # ng dicts with hostile contents are ng errors, not crashes
        for i, cmd in enumerate((
                {}, {"command": 5}, {"command": "offer"},
                {"command": "offer", "call-id": "zq", "from-tag": "a",
                 "sdp": b"\xff\x00binary"},
                {"command": "offer", "call-id": "zq", "from-tag": "a",
                 "sdp": "v=0\r\n", "flags": [[[[]]]]},
                {"command": "query", "call-id": {"nested": {"deep": []}}},
                {"command": "list", "limit": -5},
                {"command": "list", "limit": 1 << 62},
                {1: "integer key", "command": "ping"})):
            rep = c.zmq_request("ctld", {"v": 1, "op": "ng", "id": 700 + i,
                                         "cmd": cmd})
            self.assertIsNotNone(rep, cmd)
            if rep["ok"]:
                self.assertIn(rep["reply"]["result"],
                              ("error", "ok", "pong"), (cmd, rep))
        rep = c.zmq_request("ctld", {"v": 1, "op": "ng", "id": 800,
                                     "cmd": {"command": "query",
                                             "call-id": "survivor@test"}})
        self.assertEqual(rep["reply"]["result"], "ok", rep)
        self.zmq_check_counted("ctld", n0, len(self.BAD_MSGPACK) +
                               len(self.BAD_WITH_ID))

    # ------------------------------------------------------------ Redis
    def test_redis_garbage_records(self):
        """ctld restores its calls from Redis at start: records that are
        not what it wrote are skipped, never fatal (a crash here would
        be a restart loop under supervisord)."""
        c = self.cluster
        idx = "rtpsec:node:it-node:calls"
        bad = {
            "rg1": b"garbage",
            "rg2": b"\xdf\xff\xff\xff\xff",       # map32, 4G pairs
            "rg3": b"\xdd\x7f\xff\xff\xff\x01",   # array32, 2G entries
            "rg4": mp_pack({"v": 1, "call": "someone-else"}),
            "rg5": mp_pack({"v": 1, "call": "rg5", "parties": [
                {"tag": "x", "media": [{"rtp": 1 << 40}] * 3}] * 200}),
            "rg6": mp_pack([1, 2]),
            "rg7": b"",
            "rg8": mp_pack({"v": 1, "call": "rg8", "parties": [
                {"tag": 5, "leg": ["L1"], "peer": "x", "media": "m"}]}),
        }
        for k, v in bad.items():
            c.redis_cmd("HSET", "rtpsec:call:{%s}" % k, "v", "1", "node",
                        "it-node", "data", v)
            c.redis_cmd("SADD", idx, k)
        c.redis_cmd("SADD", idx, "expired-record")
        c.restart("ctld")
        calls = c.ng({"command": "list", "limit": 1000})["calls"]
        self.assertIn("survivor@test", calls)
        for k in bad:
            if k != "rg8":
                self.assertNotIn(k, calls)
        self.assertEqual(c.redis_cmd("SISMEMBER", idx, "expired-record"), 0)
        self.assertIn("unreadable call record", c.log_text("ctld"))
        for k in bad:
            c.ng({"command": "delete", "call-id": k})
            c.redis_cmd("DEL", "rtpsec:call:{%s}" % k)
            c.redis_cmd("SREM", idx, k)

    # ------------------------------------------------------------ HTTP
    def test_http_junk(self):
        c = self.cluster
        st, _ = c.http_get("/nope")
        self.assertEqual(st, 404)
        for junk in (b"\x00\x01\x02\r\n\r\n", b"GET " + b"/" * 20000 +
                     b" HTTP/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\n"
                     b"Content-Length: 99999999\r\n\r\nabc",
                     b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 5000):
            with socket.create_connection(("127.0.0.1", c.http_port),
                                          timeout=3) as s:
                try:
                    s.sendall(junk)
                    s.shutdown(socket.SHUT_WR)
                    s.recv(65536)
                except OSError:
                    pass
        st, body = c.http_get("/metrics")
        self.assertEqual(st, 200)
        st, body = c.http_get("/health")
        self.assertEqual(st, 200, body)


class StatsdAbuseTest(unittest.TestCase):
    """statsd alone, fed by fake publishers on the daemons' PUB endpoints:
    whatever they publish, /metrics stays valid Prometheus text, only
    validated samples are re-exported, and every drop is counted."""

    def stats(self, daemon, node="n1", pid=4242, started=1000, metrics=None,
              **extra):
        m = {"v": 1, "op": "stats", "id": 1, "daemon": daemon, "node": node,
             "pid": pid, "started": started,
             "metrics": metrics if metrics is not None else {}}
        m.update(extra)
        return [mp_pack(m)]

    def test_fake_publishers(self):
        with Cluster(daemons=("statsd",)) as c:
            good = {"rtpsec_fake_total{kind=\"x\"}": 5,
                    "rtpsec_fake_gauge": 7,
                    "rtpsec_esc_total{v=\"a\\\"b\\\\c\\nd\"}": 1}
            bad_names = [
                "rtpsec_evil_total{daemon=\"ctld\"}",   # daemon label
                "rtpsec_x_total{a=\"\\q\"}",          # bad escape
                "rtpsec_x_total{a=\"1\"} 1\nrtpsec_injected 9",
                "rtpsec_x_total{a=\"new\nline\"}",
                "foo_total", "rtpsec_", "rtpsec_daemon_up",
                "rtpsec_statsd_series", "rtpsec_x{", "rtpsec_x{a=1}",
                "rtpsec_x{a=\"1\"", "rtpsec_x{a=\"1\"}}", "rtpsec x",
                "rtpsec_x{__name__=\"y\"}", "rtpsec_" + "x" * 300,
                "rtpsec_x{a=\"1\",}", "rtpsec_\u00e9",
            ]
            bad = dict(good)
            for n in bad_names:
                bad[n] = 1
            msgs = [
                [b"\xc1garbage"],                              # malformed
                [mp_pack({"v": 1, "op": "stats", "id": 1}), b"x"],  # 2 frames
                self.stats("ctld"),                            # wrong daemon
                self.stats("keyd", ok=True),                   # a reply
                [mp_pack({"v": 1, "op": "ping", "id": 3})],    # not stats
                self.stats("keyd", pid="x"),                   # bad field
                self.stats("keyd", node="a\"b"),              # bad node
                self.stats("keyd", node=""),
                self.stats("keyd", node="n\x01"),
                self.stats("keyd", metrics=[1, 2]),
                self.stats("keyd", metrics={"rtpsec_neg_total": -1,
                                            "rtpsec_str_total": "9"}),
                # last: gauges count only from a publisher's latest message
                self.stats("keyd", metrics=bad),
            ]
            c.zmq_publish("keyd-pub.sock", msgs)
            m = c.metrics()
            log("statsd drops: %r" % {l["reason"]: v for n, l, v in
                                      m.samples if n ==
                                      "rtpsec_ipc_dropped_total"})
            self.assertEqual(m.get("rtpsec_fake_total", daemon="keyd",
                                   kind="x"), 5)
            self.assertEqual(m.get("rtpsec_fake_gauge", daemon="keyd"), 7)
            self.assertEqual(m.types.get("rtpsec_fake_total"), "counter")
            self.assertEqual(m.types.get("rtpsec_fake_gauge"), "gauge")
            self.assertNotIn("rtpsec_injected", m)
            self.assertNotIn("foo_total", m)
            self.assertNotIn("rtpsec_evil_total", m)
            self.assertNotIn("rtpsec_neg_total", m)
            self.assertNotIn("rtpsec_str_total", m)
            self.assertEqual(m.get("rtpsec_daemon_up", daemon="keyd"), 1)
            self.assertEqual(m.get("rtpsec_daemon_up", daemon="relayd"), 0)

            def drops(reason):
                return m.get("rtpsec_ipc_dropped_total", 0, daemon="statsd",
                             reason=reason)
            self.assertEqual(drops("malformed"), 2)
            self.assertEqual(drops("wrong_daemon"), 1)
            self.assertEqual(drops("unknown_op"), 2)
            self.assertEqual(drops("bad_field"), 5)
            self.assertEqual(drops("bad_metric"), len(bad_names) + 2)
            # each HELP/TYPE once per family, every line parses
            fams = [l.split()[2] for l in m.text.splitlines()
                    if l.startswith("# TYPE ")]
            self.assertEqual(len(fams), len(set(fams)), fams)

            # a publisher restart keeps counters monotonic; a shrinking
            # counter is a reset too
            c.zmq_publish("keyd-pub.sock", [
                self.stats("keyd", pid=4343, started=2000,
                           metrics={"rtpsec_fake_total{kind=\"x\"}": 2}),
                self.stats("keyd", pid=4343, started=2000,
                           metrics={"rtpsec_fake_total{kind=\"x\"}": 1})])
            m = c.metrics()
            self.assertEqual(m.get("rtpsec_fake_total", kind="x"), 8)
            self.assertIsNone(m.get("rtpsec_fake_gauge"),
                              "a gauge the publisher no longer sends")

            # 70 nodes: 64 publishers at most, the rest counted
            c.zmq_publish("relayd-pub.sock", [
                self.stats("relayd", node="node%d" % i,
                           metrics={"rtpsec_packets_relayed_total": 1})
                for i in range(70)])
            m = c.metrics()
            self.assertEqual(m.get("rtpsec_packets_relayed_total",
                                   daemon="relayd"), 63)
            self.assertEqual(m.get("rtpsec_ipc_dropped_total",
                                   daemon="statsd",
                                   reason="publisher_limit"), 7)

            # 5000 series in one message (of a known publisher: the
            # table of publishers is full): 4096 at most
            c.zmq_publish("relayd-pub.sock", [self.stats(
                "relayd", node="node0", metrics={"rtpsec_many_total{i=\"%d\"}" % i: i
                                 for i in range(5000)})])
            m = c.metrics()
            self.assertEqual(m.get("rtpsec_statsd_series"), 4096)
            self.assertGreater(m.get("rtpsec_ipc_dropped_total",
                                     daemon="statsd",
                                     reason="series_limit"), 0)
            st, body = c.http_get("/health")
            self.assertIn(st, (200, 503))
            import json
            json.loads(body)


class NgAllowTest(unittest.TestCase):
    """ng from a source outside ng_allow is dropped without a reply, over
    UDP and TCP, and counted (rtpsec_ng_dropped_total{reason=not_allowed})."""

    def test_ng_allow(self):
        with Cluster({"ctld": {"ng_allow": "127.0.0.1/32"}}) as c:
            self.assertEqual(c.ng({"command": "ping"}), {"result": "pong"})
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.7", 0))
            s.settimeout(0.5)
            for i in range(3):
                s.sendto(b"acl_%d d7:command4:pinge" % i,
                         ("127.0.0.1", c.ng_port))
                self.assertRaises(socket.timeout, s.recvfrom, 65535)
            s.close()
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.settimeout(2)
            t.bind(("127.0.0.7", 0))
            t.connect(("127.0.0.1", c.ng_port))
            try:
                t.sendall(b"acl_t d7:command4:pinge")
                self.assertEqual(t.recv(100), b"")
            except ConnectionResetError:
                pass
            t.close()
            c.wait_metric("rtpsec_ng_dropped_total", lambda v: v == 4,
                          reason="not_allowed")
            self.assertEqual(c.ng({"command": "ping"}), {"result": "pong"})
            c.check_alive()


if __name__ == "__main__":
    unittest.main()
