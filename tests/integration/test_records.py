"""
Record versioning (docs/redis.md): a call whose Redis records were written
by an older rtpsec restores in this one.  The ctld record below is the
layout of record version 1 as the first releases wrote it (no SDES fields,
no relay node), and relayd's record carries only its required fields plus
keys a newer version might add; after ctld and relayd restart, the call is
queried, relays both ways on its recorded ports with the recorded
endpoints, and is deleted with every record gone.
"""
import time

from cluster import (ClusterTestCase, RtpEndpoint, mp_pack, udp_port_bound,
                     wait_until)

RELAY = "127.0.0.1"


class RecordVersionTest(ClusterTestCase):
    overrides = {"ctld": {"delete_delay": 0}}

    def test_older_records_restore(self):
        c = self.cluster
        cid = "old-record@test"
        node = c.config["common"]["node_id"]
        a = RtpEndpoint("127.0.0.2")
        b = RtpEndpoint("127.0.0.3")
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        # two free pairs near the top of relayd's range
        pa = pb = None
        for p in range(c.port_max - 1 - (c.port_max - 1) % 2,
                       c.port_min, -2):
            if not udp_port_bound(p) and not udp_port_bound(p + 1):
                if pa is None:
                    pa = p
                elif pb is None:
                    pb = p
                    break
        now = int(time.time())

        def media(addr, port, local):
            # version 1 as first written: no srtp, suite, tag, sdes_params
            return {"type": "audio", "proto": "RTP/AVP", "codec": "0",
                    "addr": addr, "family": 4, "rtp": port,
                    "rtcp": port + 1, "local_rtp": local,
                    "local_rtcp": local + 1, "dir": 1}

        def party(tag, leg, peer, addr, port, local):
            return {"tag": tag, "untagged": 0, "label": "",
                    "via_branch": "", "leg": leg, "peer": peer,
                    "created": now, "have_sdp": 1, "gone": 0,
                    "laddr": RELAY, "lfamily": 4, "dir_from": "",
                    "dir_to": "",
                    "media": [media(addr, port, local)]}

        call = {"v": 1, "call": cid, "node": node, "created": now,
                "created_us": 0, "last_signal": now, "deleting": 0,
                "next_untagged": 0, "next_leg": 3,
                "parties": [party("tag-a", "L1", 1, "127.0.0.2", a.port, pa),
                            party("tag-b", "L2", 0, "127.0.0.3", b.port,
                                  pb)]}
        ckey = "rtpsec:call:{%s}" % cid
        c.redis_cmd("HSET", ckey, "v", "1", "node", node, "created",
                    str(now), "last_signal", str(now), "data", mp_pack(call))
        c.redis_cmd("EXPIRE", ckey, "3600")
        c.redis_cmd("SADD", "rtpsec:node:%s:calls" % node, cid)

        def leg(lid, peer, port, addr, aport):
            return {"id": lid, "peer": peer, "addr": RELAY,
                    "x_newer": [1, 2],
                    "media": [{"i": 1, "port": port, "x_newer": "ignored",
                               "adv": [[addr, aport], [addr, aport + 1]]}]}

        relay = {"v": 1, "call": cid, "node": node, "created": now,
                 "legs": [leg("L1", "L2", pa, "127.0.0.2", a.port),
                          leg("L2", "L1", pb, "127.0.0.3", b.port)]}
        rkey = "rtpsec:relay:{%s}" % cid
        c.redis_cmd("HSET", rkey, "v", "1", "node", node, "created",
                    str(now), "last_signal", str(now),
                    "data", mp_pack(relay))
        c.redis_cmd("EXPIRE", rkey, "3600")
        c.redis_cmd("SADD", "rtpsec:node:%s:relays" % node, cid)

        c.restart("relayd")
        c.restart("ctld")
        self.assertTrue(udp_port_bound(pa) and udp_port_bound(pb))
        q = c.ng({"command": "query", "call-id": cid})
        self.assertEqual(q["result"], "ok", q)
        self.assertEqual(set(q["tags"]), {"tag-a", "tag-b"})
        # a sends to its leg's port, b receives; and back
        sent = a.send_rtp((RELAY, pa), 3)
        got = b.recv_rtp(3)
        self.assertEqual([g[0] for g in got], sent)
        sent = b.send_rtp((RELAY, pb), 3)
        got = a.recv_rtp(3)
        self.assertEqual([g[0] for g in got], sent)
        d = c.ng({"command": "delete", "call-id": cid})
        self.assertEqual(d["result"], "ok", d)
        wait_until(lambda: not udp_port_bound(pa) and
                   not udp_port_bound(pb), 3, what="ports to close")
        wait_until(lambda: c.redis_cmd("EXISTS", ckey) == 0 and
                   c.redis_cmd("EXISTS", rkey) == 0, 3,
                   what="both records to go")
