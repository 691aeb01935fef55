"""
SDES-SRTP bridging through ctld (docs/srtp.md) against the real keyd,
relayd, ctld and Redis: a plain offerer towards an SRTP callee
(transport-protocol RTP/SAVP) and an SRTP offerer towards a plain callee
(RTP/AVP) and SRTP on both legs with independent keys and filtered
suites, checked in the SDP both ways; media through relayd with
srtpcat (tests/integration/srtpcat.c, libsrtp2) as the SRTP endpoint,
payloads compared bit-exact both ways; relayd's SRTP counters; the Redis
record without keys; delete wiping keyd's key sets; an offer with no
usable crypto line; a ctld restart between offer and answer (the record
keeps suite and tag, keyd gives the same line); keyd down (SRTP offer
refused, nothing left behind, plain calls unaffected).
"""
import base64
import os
import struct
import subprocess
import time
import unittest

from cluster import (B, ClusterTestCase, RtpEndpoint, make_sdp, mp_unpack,
                     parse_sdp, wait_until, log)

RELAY = "127.0.0.1"
SUITES = ["AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_256_CM_HMAC_SHA1_80",
          "AES_256_CM_HMAC_SHA1_32", "AES_192_CM_HMAC_SHA1_80",
          "AES_192_CM_HMAC_SHA1_32", "AES_CM_128_HMAC_SHA1_80",
          "AES_CM_128_HMAC_SHA1_32"]
SRTPCAT = os.path.join(B, "tests", "srtpcat")


def b64key(n=30):
    return base64.b64encode(os.urandom(n)).decode()


def free_port(host):
    e = RtpEndpoint(host)
    port = e.port
    e.close()
    return port


def srtp_sdp(addr, port, proto, crypto, user="alice"):
    sdp = make_sdp(addr, [("audio", port, "0")],
                   media_extra=[["a=crypto:" + c for c in crypto]],
                   origin_user=user)
    return sdp.replace(" RTP/AVP ", " %s " % proto)


def cryptos(media):
    return [l[len("a=crypto:"):] for l in media["lines"]
            if l.startswith("a=crypto:")]


def plain_payload(i):
    return (b"plain-%04d" % i) + bytes(range(150))


def srtpcat_payload(i):
    p = bytearray(b"\xa5" * 160)
    p[0:12] = b"srtpcat-%04d" % i
    return bytes(p)


def answered(rec):
    """A call record written after the answer (both parties tagged)."""
    return len(rec["parties"]) == 2 and all(p["tag"] for p in rec["parties"])


class SdesTest(ClusterTestCase):
    overrides = {"ctld": {"delete_delay": 0}}
    seq = 5000

    def keyd(self, op, **fields):
        SdesTest.seq += 1
        return self.cluster.zmq_request(
            "keyd", dict({"v": 1, "op": op, "id": SdesTest.seq}, **fields),
            timeout_ms=3000)

    def relayd_query(self, cid):
        SdesTest.seq += 1
        return self.cluster.zmq_request(
            "relayd", {"v": 1, "op": "call_query", "id": SdesTest.seq,
                       "call": cid}, timeout_ms=3000)

    def srtpcat(self, suite, ktx, krx, lport, dport, nsend, nrecv,
                timeout_ms=4000, env=None):
        return subprocess.Popen(
            [SRTPCAT, suite, ktx, krx, "127.0.0.3" if lport[0] == "b"
             else "127.0.0.2", str(lport[1]), RELAY, str(dport),
             str(nsend), str(nrecv), str(timeout_ms)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})))

    def finish(self, proc):
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        rx = [bytes.fromhex(l.split()[1]) for l in out.splitlines()
              if l.startswith("rx ")]
        fails = [int(l.split()[1]) for l in out.splitlines()
                 if l.startswith("auth_fail")][0]
        return rx, fails

    def plain_relay(self, srtp_proc, plain, port, n):
        """The plain side gets srtpcat's n packets, then sends n to port;
        returns (what the plain side got, srtpcat's rx, auth failures)."""
        got = RtpEndpoint.recv_from(plain.rtp, n, timeout=4.0)
        time.sleep(0.1)
        sent = []
        for i in range(n):
            pkt = plain.packet(150)
            pkt = pkt[:12] + plain_payload(i)
            plain.rtp.sendto(pkt, (RELAY, port))
            sent.append(pkt)
            time.sleep(0.002)
        rx, fails = self.finish(srtp_proc)
        return [g[0] for g in got], rx, fails

    def no_key_in_record(self, cid, keys, ready=None):
        """The call's Redis record (once ready(record), when given: ctld
        writes it just after its reply), checked for every key."""
        c = self.cluster
        key = "rtpsec:call:{%s}" % cid

        def written():
            raw = c.redis_cmd("HGET", key, "data")
            return raw is not None and (ready is None or
                                        ready(mp_unpack(raw)))
        wait_until(written, 3, what="record")
        raw = c.redis_cmd("HGET", key, "data")
        rec = mp_unpack(raw)
        for k in keys:
            self.assertNotIn(k.encode(), raw)
            self.assertNotIn(k.rstrip("=").encode(), raw)
        return rec

    # forged, replayed and wrongly keyed SRTP dropped and counted; both
    # directions cross a sequence-number wrap (ROC 0 -> 1)
    def test_bad_packets_and_seq_wrap(self):
        c = self.cluster
        cid = "sdes-bad@test"
        a = RtpEndpoint("127.0.0.2")
        self.addCleanup(a.close)
        a.seq = 65529          # the plain side wraps too: relayd's "out"
        bport = free_port("127.0.0.3")
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/SAVP",
                      "sdp": make_sdp("127.0.0.2", [("audio", a.port, "0")])})
        self.assertEqual(offer.get("result"), "ok", offer)
        m = parse_sdp(offer["sdp"])["media"][0]
        ours = cryptos(m)[6].split()[2][len("inline:"):]
        bkey = b64key(30)
        answer = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb",
                       "sdp": srtp_sdp("127.0.0.3", bport, "RTP/SAVP",
                                       ["7 AES_CM_128_HMAC_SHA1_80 inline:"
                                        + bkey], user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        am = parse_sdp(answer["sdp"])["media"][0]
        proc = self.srtpcat("AES_CM_128_HMAC_SHA1_80", bkey, ours,
                            ("b", bport), m["port"], 12, 12,
                            env={"SRTPCAT_SEQ": "65530", "SRTPCAT_BAD": "1"})
        got, rx, fails = self.plain_relay(proc, a, am["port"], 12)
        # exactly the 12 good packets, across the wrap, none of the bad
        self.assertEqual([g[12:] for g in got],
                         [srtpcat_payload(i) for i in range(12)])
        seqs = [struct.unpack("!H", g[2:4])[0] for g in got]
        self.assertIn(65535, seqs)
        self.assertIn(0, seqs)
        self.assertEqual(RtpEndpoint.recv_from(a.rtp, 1, timeout=0.5), [])
        # the other way the SRTP peer decrypts all 12 across the wrap
        self.assertEqual(rx, [plain_payload(i) for i in range(12)])
        self.assertEqual(fails, 0)

        q = self.relayd_query(cid)
        self.assertTrue(q["ok"], q)
        drops = {}
        for lg in q["legs"]:
            if lg["media"][0]["srtp_in"] != "":
                drops = lg["media"][0]["streams"][0]["drops"]
        log("relayd drops on the SRTP leg: %r" % drops)
        self.assertEqual(drops.get("srtp_auth"), 2, drops)    # forged, key
        self.assertEqual(drops.get("srtp_replay"), 1, drops)
        self.assertEqual(q["srtp_decrypted"], 12)
        self.assertEqual(q["srtp_encrypted"], 12)
        # the same in ng query (per stream and in total) and rtpsec-ctl
        nq = c.ng({"command": "query", "call-id": cid})
        self.assertEqual(nq["totals"]["SRTP"],
                         {"decrypted": 12, "encrypted": 12,
                          "auth failures": 2, "replay drops": 1})
        st = nq["tags"]["tb"]["medias"][0]["streams"][0]["stats"]
        self.assertEqual((st["SRTP auth failures"], st["SRTP replay drops"]),
                         (2, 1), st)
        r = c.ctl("show", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        show = r.stdout
        log("rtpsec-ctl show:\n" + show)
        self.assertIn("auth failures 2 replay drops 1", show)
        self.assertIn("suite AES_CM_128_HMAC_SHA1_80", show)
        d = c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(d["result"], "ok", d)

    # an answer whose line names another suite than the one we offered
    # under its tag is refused (the directions would differ); SDES-pad
    # pads the keys we write
    def test_suite_mismatch_and_pad(self):
        c = self.cluster
        cid = "sdes-mismatch@test"
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/SAVP",
                      "flags": ["SDES-pad"],
                      "sdp": make_sdp("127.0.0.2", [("audio", 30000, "0")])})
        self.assertEqual(offer.get("result"), "ok", offer)
        keys = [l.split()[2][len("inline:"):] for l in
                cryptos(parse_sdp(offer["sdp"])["media"][0])]
        self.assertEqual(len(keys), 8)
        for k in keys:
            self.assertEqual(len(k) % 4, 0, k)
        self.assertTrue(any(k.endswith("=") for k in keys), keys)
        answer = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb",
                       "sdp": srtp_sdp("127.0.0.3", 30002, "RTP/SAVP",
                                       ["7 AES_CM_128_HMAC_SHA1_32 inline:"
                                        + b64key(30)], user="bob")})
        self.assertEqual(answer.get("result"), "error", answer)
        c.ng({"command": "delete", "call-id": cid})

    # a re-offer and re-answer with unchanged SDP keep the negotiated key:
    # media goes on through the same relayd contexts
    def test_reoffer_keeps_keys(self):
        c = self.cluster
        cid = "sdes-reoffer@test"
        a = RtpEndpoint("127.0.0.2")
        self.addCleanup(a.close)
        bport = free_port("127.0.0.3")
        bkey = b64key(30)
        first = None
        for rnd in range(2):
            offer = c.ng({"command": "offer", "call-id": cid,
                          "from-tag": "ta", "transport-protocol": "RTP/SAVP",
                          "sdp": make_sdp("127.0.0.2",
                                          [("audio", a.port, "0")])})
            self.assertEqual(offer.get("result"), "ok", offer)
            m = parse_sdp(offer["sdp"])["media"][0]
            lines = cryptos(m)
            # the negotiated suite (tag 7) keeps its key and the port
            # stays; keyd dropped the 7 unused keys at the answer, so
            # those lines may carry fresh ones
            if first is None:
                first = (lines[6], m["port"])
            self.assertEqual(len(lines), 8)
            self.assertEqual((lines[6], m["port"]), first)
            ours = lines[6].split()[2][len("inline:"):]
            answer = c.ng({"command": "answer", "call-id": cid,
                           "from-tag": "ta", "to-tag": "tb",
                           "sdp": srtp_sdp("127.0.0.3", bport, "RTP/SAVP",
                                           ["7 AES_CM_128_HMAC_SHA1_80 "
                                            "inline:" + bkey], user="bob")})
            self.assertEqual(answer.get("result"), "ok", answer)
            am = parse_sdp(answer["sdp"])["media"][0]
            # the SRTP peer goes on with its stream (no replay of seqs)
            proc = self.srtpcat("AES_CM_128_HMAC_SHA1_80", bkey, ours,
                                ("b", bport), m["port"], 10, 10,
                                env={"SRTPCAT_SEQ": str(1000 + 100 * rnd)})
            got, rx, fails = self.plain_relay(proc, a, am["port"], 10)
            self.assertEqual(len(got), 10, "round %d" % rnd)
            self.assertEqual(rx, [plain_payload(i) for i in range(10)])
            self.assertEqual(fails, 0)
        q = self.relayd_query(cid)
        self.assertEqual((q["srtp_decrypted"], q["srtp_encrypted"]),
                         (20, 20), q)
        c.ng({"command": "delete", "call-id": cid})

    # (a) + (c): plain offerer, SRTP callee
    def test_avp_to_savp(self):
        c = self.cluster
        cid = "sdes-a@test"
        a = RtpEndpoint("127.0.0.2")
        self.addCleanup(a.close)
        bport = free_port("127.0.0.3")
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/SAVP",
                      "sdp": make_sdp("127.0.0.2", [("audio", a.port, "0")])})
        self.assertEqual(offer.get("result"), "ok", offer)
        m = parse_sdp(offer["sdp"])["media"][0]
        log("offer to the SRTP callee:\n" + offer["sdp"].replace("\r\n", "\n"))
        self.assertIn(" RTP/SAVP ", m["m"])
        lines = cryptos(m)
        self.assertEqual(len(lines), 8, lines)
        self.assertEqual([l.split()[1] for l in lines], SUITES)
        self.assertEqual([l.split()[0] for l in lines],
                         [str(i) for i in range(1, 9)])
        ours = lines[6].split()[2][len("inline:"):]
        bkey = b64key(30)
        answer = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb",
                       "sdp": srtp_sdp("127.0.0.3", bport, "RTP/SAVP",
                                       ["7 AES_CM_128_HMAC_SHA1_80 inline:"
                                        + bkey], user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        am = parse_sdp(answer["sdp"])["media"][0]
        self.assertIn(" RTP/AVP ", am["m"])
        self.assertEqual(cryptos(am), [])
        rec = self.no_key_in_record(
            cid, [ours, bkey] + [l.split()[2][7:] for l in lines],
            ready=answered)
        media = [p["media"][0] for p in rec["parties"]]
        self.assertEqual([(x["srtp"], x["suite"], x["tag"]) for x in media],
                         [(0, "", 0), (1, "AES_CM_128_HMAC_SHA1_80", 7)])

        # media: b (SRTP) <-> relay <-> a (plain), 10 packets each way
        proc = self.srtpcat("AES_CM_128_HMAC_SHA1_80", bkey, ours,
                            ("b", bport), m["port"], 10, 10)
        got, rx, fails = self.plain_relay(proc, a, am["port"], 10)
        log("SRTP->plain got %d, plain->SRTP got %d, auth failures %d"
            % (len(got), len(rx), fails))
        self.assertEqual([g[12:] for g in got],
                         [srtpcat_payload(i) for i in range(10)])
        self.assertEqual(rx, [plain_payload(i) for i in range(10)])
        self.assertEqual(fails, 0)

        q = self.relayd_query(cid)
        self.assertTrue(q["ok"], q)
        log("relayd: srtp_decrypted %d, srtp_encrypted %d"
            % (q["srtp_decrypted"], q["srtp_encrypted"]))
        self.assertEqual(q["srtp_decrypted"], 10)
        self.assertEqual(q["srtp_encrypted"], 10)
        legs = {lg["leg"]: lg for lg in q["legs"]}
        srtp_legs = [l for l, lg in legs.items()
                     if lg["media"][0]["srtp_in"] != ""]
        self.assertEqual(len(srtp_legs), 1, legs)
        bleg = srtp_legs[0]
        self.assertEqual(legs[bleg]["media"][0]["srtp_out"],
                         "AES_CM_128_HMAC_SHA1_80")

        # ng query: suite, SDES flag and SRTP counters
        nq = c.ng({"command": "query", "call-id": cid, "from-tag": "ta"})
        self.assertEqual(nq.get("result"), "ok", nq)
        self.assertEqual(nq["totals"]["SRTP"],
                         {"decrypted": 10, "encrypted": 10,
                          "auth failures": 0, "replay drops": 0})
        bm = nq["tags"]["tb"]["medias"][0]
        self.assertIn("SDES", bm["flags"])
        self.assertEqual(bm["protocol"], "RTP/SAVP")
        self.assertEqual(bm["streams"][0]["crypto suite"],
                         "AES_CM_128_HMAC_SHA1_80")
        self.assertEqual(bm["streams"][0]["stats"]["SRTP decrypted"], 10)
        self.assertEqual(bm["streams"][0]["stats"]["SRTP encrypted"], 10)
        am_q = nq["tags"]["ta"]["medias"][0]
        self.assertNotIn("SDES", am_q["flags"])
        self.assertNotIn("crypto suite", am_q["streams"][0])

        # delete: keyd forgets the key sets
        self.assertTrue(self.keyd("sdes_select", call=cid, leg=bleg, media=1,
                                  tag=7)["ok"])
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "ta"})
        self.assertEqual(d.get("result"), "ok", d)
        r = self.keyd("sdes_select", call=cid, leg=bleg, media=1, tag=7)
        self.assertFalse(r["ok"], r)
        self.assertEqual(r["error"], "unknown key set")

    # (b) + (c): SRTP offerer, plain callee
    def test_savp_to_avp(self):
        c = self.cluster
        cid = "sdes-b@test"
        b = RtpEndpoint("127.0.0.3")
        self.addCleanup(b.close)
        aport = free_port("127.0.0.2")
        akey = b64key(30)
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/AVP",
                      "sdp": srtp_sdp("127.0.0.2", aport, "RTP/SAVP", [
                          "1 F8_128_HMAC_SHA1_80 inline:" + b64key(30),
                          "2 AES_CM_128_HMAC_SHA1_80 inline:" + akey
                          + "|2^31"])})
        self.assertEqual(offer.get("result"), "ok", offer)
        m = parse_sdp(offer["sdp"])["media"][0]
        self.assertIn(" RTP/AVP ", m["m"])
        self.assertEqual(cryptos(m), [])
        answer = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb",
                       "sdp": make_sdp("127.0.0.3", [("audio", b.port, "0")],
                                       origin_user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        log("answer to the SRTP offerer:\n"
            + answer["sdp"].replace("\r\n", "\n"))
        am = parse_sdp(answer["sdp"])["media"][0]
        self.assertIn(" RTP/SAVP ", am["m"])
        lines = cryptos(am)
        self.assertEqual(len(lines), 1, lines)
        tag, suite, inline = lines[0].split()
        self.assertEqual((tag, suite), ("2", "AES_CM_128_HMAC_SHA1_80"))
        ours = inline[len("inline:"):]
        self.assertEqual(len(base64.b64decode(ours + "==")), 30)
        # a repeated answer gives the same key (keyd is idempotent)
        again = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                      "to-tag": "tb",
                      "sdp": make_sdp("127.0.0.3", [("audio", b.port, "0")],
                                      origin_user="bob", version=2)})
        self.assertEqual(cryptos(parse_sdp(again["sdp"])["media"][0]),
                         lines)
        self.no_key_in_record(cid, [akey, ours])

        proc = self.srtpcat("AES_CM_128_HMAC_SHA1_80", akey, ours,
                            ("a", aport), am["port"], 10, 10)
        got, rx, fails = self.plain_relay(proc, b, m["port"], 10)
        log("SRTP->plain got %d, plain->SRTP got %d, auth failures %d"
            % (len(got), len(rx), fails))
        self.assertEqual([g[12:] for g in got],
                         [srtpcat_payload(i) for i in range(10)])
        self.assertEqual(rx, [plain_payload(i) for i in range(10)])
        self.assertEqual(fails, 0)
        q = self.relayd_query(cid)
        self.assertEqual((q["srtp_decrypted"], q["srtp_encrypted"]), (10, 10))
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "ta"})
        self.assertEqual(d.get("result"), "ok", d)

    # RFC 4568 6.3.1: an SRTP offerer's line with UNENCRYPTED_SRTP; our
    # answer line mirrors it, and media flows authenticated but in clear
    # both ways (srtpcat with SRTPCAT_UNENC: a receiver without
    # decryption gets the payload bit-exact only if relayd did not
    # encrypt, and relayd's plain side gets it only if relayd did not
    # decrypt)
    def test_savp_unencrypted_srtp(self):
        c = self.cluster
        cid = "sdes-unenc@test"
        b = RtpEndpoint("127.0.0.3")
        self.addCleanup(b.close)
        aport = free_port("127.0.0.2")
        akey = b64key(30)
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/AVP",
                      "sdp": srtp_sdp("127.0.0.2", aport, "RTP/SAVP", [
                          "3 AES_CM_128_HMAC_SHA1_80 inline:" + akey
                          + " UNENCRYPTED_SRTP"])})
        self.assertEqual(offer.get("result"), "ok", offer)
        m = parse_sdp(offer["sdp"])["media"][0]
        self.assertIn(" RTP/AVP ", m["m"])
        self.assertEqual(cryptos(m), [])
        answer = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb",
                       "sdp": make_sdp("127.0.0.3", [("audio", b.port, "0")],
                                       origin_user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        log("answer to the UNENCRYPTED_SRTP offerer:\n"
            + answer["sdp"].replace("\r\n", "\n"))
        am = parse_sdp(answer["sdp"])["media"][0]
        self.assertIn(" RTP/SAVP ", am["m"])
        lines = cryptos(am)
        self.assertEqual(len(lines), 1, lines)
        f = lines[0].split()
        self.assertEqual((f[0], f[1], f[3:]),
                         ("3", "AES_CM_128_HMAC_SHA1_80",
                          ["UNENCRYPTED_SRTP"]))
        ours = f[2][len("inline:"):]
        rec = self.no_key_in_record(cid, [akey, ours], ready=answered)
        self.assertEqual([p["media"][0].get("sdes_params")
                          for p in rec["parties"]], [1, 0])

        proc = self.srtpcat("AES_CM_128_HMAC_SHA1_80", akey, ours,
                            ("a", aport), am["port"], 10, 10,
                            env={"SRTPCAT_UNENC": "1"})
        got, rx, fails = self.plain_relay(proc, b, m["port"], 10)
        log("UNENCRYPTED_SRTP: SRTP->plain got %d, plain->SRTP got %d, "
            "auth failures %d" % (len(got), len(rx), fails))
        self.assertEqual([g[12:] for g in got],
                         [srtpcat_payload(i) for i in range(10)])
        self.assertEqual(rx, [plain_payload(i) for i in range(10)])
        self.assertEqual(fails, 0)
        q = self.relayd_query(cid)
        self.assertEqual((q["srtp_decrypted"], q["srtp_encrypted"]), (10, 10))
        d = c.ng({"command": "delete", "call-id": cid, "from-tag": "ta"})
        self.assertEqual(d.get("result"), "ok", d)

    # the SDES session parameter words put the parameters on our offered
    # lines; an answer line without them is refused (RFC 4568 6.3)
    def test_offer_session_params(self):
        c = self.cluster
        cid = "sdes-params@test"
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/SAVP",
                      "SDES": ["unencrypted_srtcp", "unauthenticated_srtp",
                               "no-AEAD_AES_256_GCM",
                               "no-AEAD_AES_128_GCM"],
                      "flags": ["SDES-unencrypted_srtp"],
                      "sdp": make_sdp("127.0.0.2", [("audio", 30010, "0")])})
        self.assertEqual(offer.get("result"), "ok", offer)
        lines = cryptos(parse_sdp(offer["sdp"])["media"][0])
        self.assertEqual(len(lines), 6, lines)
        for l in lines:
            self.assertEqual(l.split()[3:], ["UNENCRYPTED_SRTP",
                                             "UNENCRYPTED_SRTCP",
                                             "UNAUTHENTICATED_SRTP"], l)
        bad = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                    "to-tag": "tb",
                    "sdp": srtp_sdp("127.0.0.3", 30012, "RTP/SAVP",
                                    ["5 AES_CM_128_HMAC_SHA1_80 inline:"
                                     + b64key(30) + " UNENCRYPTED_SRTP"],
                                    user="bob")})
        self.assertEqual(bad.get("result"), "error", bad)
        good = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                     "to-tag": "tb",
                     "sdp": srtp_sdp("127.0.0.3", 30012, "RTP/SAVP",
                                     ["5 AES_CM_128_HMAC_SHA1_80 inline:"
                                      + b64key(30) + " UNENCRYPTED_SRTP "
                                      "UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP"],
                                     user="bob", )})
        self.assertEqual(good.get("result"), "ok", good)
        c.ng({"command": "delete", "call-id": cid})

    # SAVP <-> SAVP with independent keys, suites filtered towards Q
    def test_savp_to_savp(self):
        c = self.cluster
        cid = "sdes-ss@test"
        aport, bport = free_port("127.0.0.2"), free_port("127.0.0.3")
        akey, bkey = b64key(30), b64key(28)
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "flags": ["SDES-only-AES_CM_128_HMAC_SHA1_80",
                                "SDES-only-AEAD_AES_128_GCM"],
                      "sdp": srtp_sdp("127.0.0.2", aport, "RTP/SAVP", [
                          "5 AES_CM_128_HMAC_SHA1_32 inline:" + akey])})
        self.assertEqual(offer.get("result"), "ok", offer)
        m = parse_sdp(offer["sdp"])["media"][0]
        self.assertIn(" RTP/SAVP ", m["m"])
        lines = cryptos(m)
        self.assertEqual([l.split()[:2] for l in lines],
                         [["1", "AEAD_AES_128_GCM"],
                          ["2", "AES_CM_128_HMAC_SHA1_80"]])
        self.assertNotIn(akey, offer["sdp"])
        to_b = lines[0].split()[2][len("inline:"):]
        answer = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                       "to-tag": "tb",
                       "sdp": srtp_sdp("127.0.0.3", bport, "RTP/SAVP",
                                       ["1 AEAD_AES_128_GCM inline:" + bkey],
                                       user="bob")})
        self.assertEqual(answer.get("result"), "ok", answer)
        am = parse_sdp(answer["sdp"])["media"][0]
        self.assertIn(" RTP/SAVP ", am["m"])
        al = cryptos(am)
        self.assertEqual(len(al), 1, al)
        self.assertEqual(al[0].split()[:2], ["5", "AES_CM_128_HMAC_SHA1_32"])
        self.assertNotIn(bkey, answer["sdp"])
        to_a = al[0].split()[2][len("inline:"):]

        # a -> b: a protects with its key, b unprotects with ours for b
        rb = self.srtpcat("AEAD_AES_128_GCM", "-", to_b, ("b", bport), 9, 0,
                          10)
        time.sleep(0.3)
        sa = self.srtpcat("AES_CM_128_HMAC_SHA1_32", akey, "-",
                          ("a", aport), am["port"], 10, 0, 100)
        self.finish(sa)
        rx_b, fail_b = self.finish(rb)
        # b -> a
        ra = self.srtpcat("AES_CM_128_HMAC_SHA1_32", "-", to_a, ("a", aport),
                          9, 0, 10)
        time.sleep(0.3)
        sb = self.srtpcat("AEAD_AES_128_GCM", bkey, "-", ("b", bport),
                          m["port"], 10, 0, 100)
        self.finish(sb)
        rx_a, fail_a = self.finish(ra)
        log("SAVP<->SAVP: a->b %d (auth failures %d), b->a %d (%d)"
            % (len(rx_b), fail_b, len(rx_a), fail_a))
        want = [srtpcat_payload(i) for i in range(10)]
        self.assertEqual(rx_b, want)
        self.assertEqual(rx_a, want)
        self.assertEqual(fail_a + fail_b, 0)
        q = self.relayd_query(cid)
        self.assertEqual((q["srtp_decrypted"], q["srtp_encrypted"]), (20, 20))
        c.ng({"command": "delete", "call-id": cid, "from-tag": "ta"})

    # the record keeps suite and tag: a restarted ctld answers the same
    def test_ctld_restart(self):
        c = self.cluster
        cid = "sdes-r@test"
        akey = b64key(46)
        offer = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/AVP",
                      "sdp": srtp_sdp("127.0.0.2", 30000, "RTP/SAVP", [
                          "3 AES_256_CM_HMAC_SHA1_80 inline:" + akey])})
        self.assertEqual(offer.get("result"), "ok", offer)
        self.no_key_in_record(cid, [akey])
        c.restart("ctld")
        ans = {"command": "answer", "call-id": cid, "from-tag": "ta",
               "to-tag": "tb",
               "sdp": make_sdp("127.0.0.3", [("audio", 30002, "0")])}
        r1 = c.ng(ans)
        self.assertEqual(r1.get("result"), "ok", r1)
        l1 = cryptos(parse_sdp(r1["sdp"])["media"][0])
        self.assertEqual([l.split()[:2] for l in l1],
                         [["3", "AES_256_CM_HMAC_SHA1_80"]])
        c.restart("ctld")
        r2 = c.ng(dict(ans, sdp=make_sdp("127.0.0.3", [("audio", 30002, "0")],
                                         version=2)))
        self.assertEqual(cryptos(parse_sdp(r2["sdp"])["media"][0]), l1)
        c.ng({"command": "delete", "call-id": cid, "from-tag": "ta"})

    # (d): nothing usable in an SRTP offer
    def test_no_usable_crypto(self):
        c = self.cluster
        cid = "sdes-d@test"
        for crypto in ([], ["1 F8_128_HMAC_SHA1_80 inline:" + b64key(30),
                            "2 AES_CM_128_HMAC_SHA1_80 inline:" + b64key(20),
                            "3 AES_CM_128_HMAC_SHA1_80 inline:" + b64key(30)
                            + "|2^20|1:4"]):
            r = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "sdp": srtp_sdp("127.0.0.2", 30000, "RTP/SAVP",
                                      crypto)})
            self.assertEqual(r.get("result"), "error", r)
            self.assertEqual(r.get("error-reason"), "no usable crypto suite")
        r = c.ng({"command": "list"})
        self.assertNotIn(cid, r["calls"])
        # an answer without a usable line to our SRTP offer
        r = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                  "transport-protocol": "RTP/SAVP",
                  "sdp": make_sdp("127.0.0.2", [("audio", 30000, "0")])})
        self.assertEqual(r.get("result"), "ok", r)
        r = c.ng({"command": "answer", "call-id": cid, "from-tag": "ta",
                  "to-tag": "tb",
                  "sdp": srtp_sdp("127.0.0.3", 30002, "RTP/SAVP", [])})
        self.assertEqual(r.get("result"), "error", r)
        self.assertEqual(r.get("error-reason"), "no usable crypto suite")
        c.ng({"command": "delete", "call-id": cid, "from-tag": "ta"})

    # (e): keyd down
    def test_z_keyd_down(self):
        c = self.cluster
        c._stop_proc(c.procs["keyd"])
        try:
            cid = "sdes-e@test"
            t0 = time.monotonic()
            r = c.ng({"command": "offer", "call-id": cid, "from-tag": "ta",
                      "transport-protocol": "RTP/SAVP",
                      "sdp": make_sdp("127.0.0.2", [("audio", 30000, "0")])})
            log("SRTP offer with keyd down: %r after %.2f s"
                % (r, time.monotonic() - t0))
            self.assertEqual(r.get("result"), "error", r)
            self.assertEqual(r.get("error-reason"), "Failed to set up SRTP")
            self.assertNotIn(cid, c.ng({"command": "list"})["calls"])
            SdesTest.seq += 1
            rl = c.zmq_request("relayd", {"v": 1, "op": "call_list",
                                          "id": SdesTest.seq})
            self.assertNotIn(cid, rl["calls"])
            self.assertEqual(c.redis_cmd("EXISTS",
                                         "rtpsec:call:{%s}" % cid), 0)
            # a plain call needs no keyd, and deletes fine
            pid = "sdes-e-plain@test"
            r = c.ng({"command": "offer", "call-id": pid, "from-tag": "ta",
                      "sdp": make_sdp("127.0.0.2", [("audio", 30000, "0")])})
            self.assertEqual(r.get("result"), "ok", r)
            r = c.ng({"command": "answer", "call-id": pid, "from-tag": "ta",
                      "to-tag": "tb",
                      "sdp": make_sdp("127.0.0.3", [("audio", 30002, "0")])})
            self.assertEqual(r.get("result"), "ok", r)
            r = c.ng({"command": "delete", "call-id": pid, "from-tag": "ta"})
            self.assertEqual(r.get("result"), "ok", r)
        finally:
            c._start_daemon("keyd")
            c.wait_ready("keyd")


class SdesConfigTest(ClusterTestCase):
    """[ctld] sdes_suites sets the suites offered and their order."""
    overrides = {"ctld": {"delete_delay": 0, "sdes_suites":
                          "AES_CM_128_HMAC_SHA1_32 AES_CM_128_HMAC_SHA1_80"}}

    def test_configured_suites(self):
        c = self.cluster
        offer = c.ng({"command": "offer", "call-id": "sdes-cfg@test",
                      "from-tag": "ta", "transport-protocol": "RTP/SAVP",
                      "sdp": make_sdp("127.0.0.2", [("audio", 30000, "0")])})
        self.assertEqual(offer.get("result"), "ok", offer)
        lines = cryptos(parse_sdp(offer["sdp"])["media"][0])
        self.assertEqual([l.split()[:2] for l in lines],
                         [["1", "AES_CM_128_HMAC_SHA1_32"],
                          ["2", "AES_CM_128_HMAC_SHA1_80"]])
        # a flag can only narrow the configured set
        offer = c.ng({"command": "offer", "call-id": "sdes-cfg2@test",
                      "from-tag": "ta", "transport-protocol": "RTP/SAVP",
                      "flags": ["SDES-only-AEAD_AES_128_GCM"],
                      "sdp": make_sdp("127.0.0.2", [("audio", 30002, "0")])})
        self.assertEqual(offer.get("result"), "ok", offer)
        m = parse_sdp(offer["sdp"])["media"][0]
        self.assertIn(" RTP/AVP ", m["m"])
        self.assertEqual(cryptos(m), [])
        for cid in ("sdes-cfg@test", "sdes-cfg2@test"):
            c.ng({"command": "delete", "call-id": cid})


if __name__ == "__main__":
    unittest.main()
