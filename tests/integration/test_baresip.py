#!/usr/bin/env python3
"""rtpsec with a real SIP phone: baresip (Debian's 1.0.0) on both ends of a
call through Kamailio, SDES-SRTP mandatory on one side and plain RTP on the
other (issue 3, "Real peer").

Starts a private redis-server and the four daemons (cluster.Cluster: own
temporary run directory, free ports, a media port window of its own); each
test starts Kamailio 5.6 with tests/integration/kamailio/kamailio.cfg, its
rtpengine flags (RTPE_FLAGS, given with -A) being the usual ones plus the
test's `transport-protocol=...` for the callee's side (the answer towards
the caller keeps the caller's protocol), and two baresip instances, each
with a config directory generated here (-f):

  A  127.0.0.2  caller, Kamailio as outbound proxy; dials sip:b@127.0.0.3:PORT
  B  127.0.0.3  callee, answermode=auto
  the SRTP side's account has ;mediaenc=srtp-mand (SDES, RTP/SAVP)

Both send a 1 kHz tone (a WAV file generated here, 8 kHz mono 16-bit,
played by the `aufile` module) as PCMU/PCMA (`g711`), play what they
receive into an `aubridge` device nobody reads (no sound card needed), dump
what they decode to a WAV file (`sndfile`), and are driven over their
`ctrl_tcp` module (netstring-framed JSON commands `dial`, `callstat`,
`hangup`, `quit`; the events CALL_ESTABLISHED and CALL_CLOSED arrive on the
same connection).  baresip -s traces SIP to its log; `rtp_stats yes` makes
it print its RTP statistics when the call ends.

  test_1_srtp_caller_plain_callee   A SDES, B plain (transport-protocol
                                    RTP/AVP)
  test_2_plain_caller_srtp_callee   A plain, B SDES (RTP/SAVP), suites
                                    limited to AES_CM_128_HMAC_SHA1_80
  test_3_..._sdes_pad               A plain, B SDES (RTP/SAVP) with every
                                    suite and SDES-pad: baresip picks
                                    AEAD_AES_256_GCM, whose key its libre
                                    decodes only when base64-padded; skipped
                                    while ctld writes no padding

Each checks:
  - the call is established on both sides;
  - the SDP each side got and sent (baresip's SIP trace): the plain side
    gets RTP/AVP without a=crypto, the SRTP side RTP/SAVP with rtpsec's
    a=crypto lines (one in an answer, in a suite the caller offered, with a
    key of rtpsec's own; tags 1..n in an offer, the answer picks one),
    both at the relay's address and in its port window;
  - media both ways, by baresip's own statistics: each side received more
    than MIN_PACKETS RTP packets (the RTP statistics printed when the call
    ended; also callstat during the call where it shows them), no receive
    errors; and what each side decoded is the other side's 1 kHz tone
    (Goertzel: > 90 % of the energy at 1 kHz): SRTP <-> RTP bridging
    keeps the payload intact;
  - while the call is up, ng query: the SRTP side's media RTP/SAVP with
    flag SDES, its "crypto suite" and "SRTP decrypted" / "SRTP encrypted"
    > MIN_PACKETS, the plain side's RTP/AVP without; relayd's call_query:
    SRTP on that leg only, no srtp_auth / srtp_replay drops and no
    srtp_error but one: the RTCP APP "PING" baresip 1.0.0 sends in clear
    before its SRTP is on; rtpsec_keyd_key_sets > 0;
  - after A hangs up (BYE through Kamailio): no call in ctld, no call
    record in Redis, no relayd socket in the window, rtpsec_ports_used and
    rtpsec_keyd_key_sets 0 in /metrics, no ng error, Kamailio logged no
    error, every daemon alive.

Needs kamailio with its rtpengine module, baresip (package baresip-core)
with the aufile, aubridge, sndfile, g711, srtp, account, menu and ctrl_tcp
modules, redis-server, root (the daemons confine themselves) and `make
all`.  Loopback only (but baresip 1.0.0 binds its RTP sockets to the
wildcard address, "we listen on all interfaces" in its stream.c: their
ports are a narrow range checked free beforehand); every process is
bounded in time and stopped by its PID.
Environment: B (build directory), RTPSEC_KEEP=1 keeps the temporary
directory, RTPSEC_VERBOSE=1 prints the logs even on success,
RTPSEC_BARESIP_FLAGS adds rtpengine flags to every call (e.g.
SDES-only-AEAD_AES_128_GCM to try one suite).
"""
import glob
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import wave

from cluster import Cluster

HERE = os.path.dirname(os.path.abspath(__file__))
KAMCFG = os.path.join(HERE, "kamailio", "kamailio.cfg")
KAM_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
BARESIP_MODULES = "/usr/lib/baresip/modules"
NEEDED_MODULES = ("aufile", "aubridge", "sndfile", "g711", "srtp", "account",
                  "menu", "ctrl_tcp")

A_IP = "127.0.0.2"
B_IP = "127.0.0.3"
RELAY_IP = "127.0.0.1"

CALL_SECONDS = 5            # media time before the hangup
MIN_PACKETS = 100           # 20 ms packets: 250 in 5 s each way
TONE_SECONDS = 60           # longer than any call (aufile stops at its end)
# kamailio.cfg's default flags; each Kamailio adds transport-protocol
# (and RTPSEC_BARESIP_FLAGS from the environment, e.g. SDES-only-<suite>)
RTPE_FLAGS = ("trust-address replace-origin replace-session-connection "
              "ICE=remove " + os.environ.get("RTPSEC_BARESIP_FLAGS", "")).strip()


# ---------------------------------------------------------------- helpers

def port_free(ip, port, kinds=(socket.SOCK_DGRAM,)):
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((ip, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


_taken = set()


def free_ports(ip, span=1, kinds=(socket.SOCK_DGRAM,), lo=20000, hi=30000):
    """An even port p with p..p+span-1 free on ip (outside the ephemeral
    range) and not handed out before by this function."""
    for _ in range(500):
        p = random.randrange(lo, hi - span) & ~1
        ports = set(range(p, p + span))
        if not ports & _taken and all(port_free(ip, q, kinds) for q in ports):
            _taken.update(ports)
            return p
    raise RuntimeError("no free port on %s" % ip)


def tail(path, n=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(%s)" % e


def write_tone(path, seconds=TONE_SECONDS, freq=1000, rate=8000):
    """A WAV file: a sine tone, 8 kHz mono 16-bit."""
    frames = bytearray()
    for i in range(rate * seconds):
        frames += struct.pack("<h", int(12000 * math.sin(
            2 * math.pi * freq * i / rate)))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class Ctrl:
    """baresip's ctrl_tcp: netstring-framed JSON.  Commands get a response
    with their token; events ({"event": true, "type": ...}) are kept."""

    def __init__(self, addr, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.create_connection(addr, 1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.s.settimeout(0.2)
        self.buf = b""
        self.events = []
        self.seq = 0

    def close(self):
        self.s.close()

    def _pump(self, until):
        """Reads messages until time `until`; returns the list read."""
        out = []
        while True:
            m = re.match(rb"(\d+):", self.buf)
            if m:
                n = int(m.group(1))
                start = m.end()
                if len(self.buf) >= start + n + 1:
                    body = self.buf[start:start + n]
                    self.buf = self.buf[start + n + 1:]
                    msg = json.loads(body.decode("utf-8", "replace"))
                    if msg.get("event"):
                        self.events.append(msg)
                    out.append(msg)
                    continue
            if time.monotonic() >= until:
                return out
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            if not d:
                raise ConnectionError("baresip closed ctrl_tcp")
            self.buf += d

    def command(self, cmd, params=None, timeout=10):
        self.seq += 1
        token = "t%d" % self.seq
        req = {"command": cmd, "token": token}
        if params is not None:
            req["params"] = params
        body = json.dumps(req).encode()
        self.s.sendall(b"%d:%s," % (len(body), body))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in self._pump(min(deadline, time.monotonic() + 0.2)):
                if msg.get("response") and msg.get("token") == token:
                    return msg
        raise RuntimeError("baresip: no response to %r" % cmd)

    def wait_event(self, etype, timeout):
        """The first event of type etype (or of one of the types in a
        tuple), waiting up to timeout seconds; None if there is none."""
        types = etype if isinstance(etype, tuple) else (etype,)
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e.get("type") in types:
                    return e
            if time.monotonic() >= deadline:
                return None
            self._pump(min(deadline, time.monotonic() + 0.2))


def sip_messages(log_text):
    """The SIP messages of a baresip -s trace: [(source, destination,
    text)].  Each is logged as "#", then "UDP <src> -> <dst>", then the
    message."""
    out = []
    for part in re.split(r"^#\n", strip_ansi(log_text), flags=re.M):
        m = re.match(r"(?:UDP|TCP|TLS) (\S+) -> (\S+)\n(.*)", part, re.S)
        if m:
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def sdp_of(msg):
    """{proto, port (of the audio m= line), c (addresses), crypto (the
    a=crypto values)} of a SIP message's SDP, or None without SDP."""
    if "\nv=0" not in msg.replace("\r", ""):
        return None
    body = msg.replace("\r", "").split("\nv=0", 1)[1]
    mline = re.search(r"^m=audio (\d+) (\S+)", body, re.M)
    return {"port": int(mline.group(1)) if mline else None,
            "proto": mline.group(2) if mline else None,
            "c": re.findall(r"^c=IN IP4 (\S+)", body, re.M),
            "crypto": re.findall(r"^a=crypto:(.*)$", body, re.M)}


def rtp_stats(log_text):
    """baresip's RTP statistics at call end (rtp_stats yes):
    {"tx": packets, "rx": packets, "rx_errors": ..., "lost": ...}."""
    text = strip_ansi(log_text)
    out = {}
    m = re.search(r"^packets:\s+(\d+)\s+(\d+)", text, re.M)
    if m:
        out["tx"], out["rx"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"^errors:\s+(\d+)\s+(\d+)", text, re.M)
    if m:
        out["tx_errors"], out["rx_errors"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"^lost:\s+(-?\d+)\s+(-?\d+)", text, re.M)
    if m:
        out["lost"] = int(m.group(2))
    return out


def tone_check(path, freq=1000):
    """(share of the signal's energy at freq, RMS, seconds) of a WAV file
    of 16-bit samples (baresip's sndfile dump of what it decoded),
    skipping the first 0.5 s (jitter buffer) and the last 0.1 s."""
    with wave.open(path, "rb") as w:
        rate, n = w.getframerate(), w.getnframes()
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("%s: not mono 16-bit" % path)
        x = struct.unpack("<%dh" % n, w.readframes(n))
    seg = x[rate // 2:n - rate // 10]
    if len(seg) < rate:
        return 0.0, 0.0, n / rate
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in seg:
        s1, s2 = v + k * s1 - s2, s1
    power = (s1 * s1 + s2 * s2 - k * s1 * s2) * 2 / len(seg)
    total = float(sum(v * v for v in seg)) or 1.0
    return power / total, math.sqrt(total / len(seg)), n / rate


# ---------------------------------------------------------------- the test

def _skip_reason():
    if not shutil.which("kamailio"):
        return "needs kamailio"
    if not os.path.exists(os.path.join(KAM_MODULES, "rtpengine.so")):
        return "needs Kamailio's rtpengine module (kamailio-extra-modules)"
    if not shutil.which("baresip"):
        return "needs baresip (package baresip-core)"
    for m in NEEDED_MODULES:
        if not os.path.exists(os.path.join(BARESIP_MODULES, m + ".so")):
            return "needs baresip's %s module" % m
    if not shutil.which("redis-server"):
        return "needs redis-server"
    if os.geteuid() != 0:
        return "needs root (the daemons confine themselves as root)"
    return None


class BaresipTest(unittest.TestCase):
    """make test installs every peer (tools/deps.sh): a missing one is a
    failure here, not a skip."""
    cluster = None
    procs = {}

    @classmethod
    def setUpClass(cls):
        missing = _skip_reason()
        if missing is not None:
            raise RuntimeError("cannot run: " + missing)
        cls.procs = {}
        cls.failed = False
        cls.tmp = tempfile.mkdtemp(prefix="rtpsec-baresip.")
        os.chmod(cls.tmp, 0o755)
        cls.logs = os.path.join(cls.tmp, "logs")
        os.makedirs(cls.logs)
        try:
            cls.cluster = Cluster({"relayd": {"media_timeout": 30}})
            cls.cluster.__enter__()
            cls.tone = os.path.join(cls.tmp, "tone.wav")
            write_tone(cls.tone)
        except BaseException:
            cls._dump_logs()
            cls._teardown()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    @classmethod
    def _teardown(cls):
        for name in [n for n in cls.procs if n.startswith("baresip")]:
            cls._stop(name, 5)
        for name in [n for n in cls.procs if n.startswith("kamailio")]:
            cls._stop(name)
        failed = cls.failed
        if cls.cluster is not None:
            c, cls.cluster = cls.cluster, None
            try:
                c.__exit__(None, None, None) if not failed else \
                    c.__exit__(AssertionError, None, None)
            except BaseException:
                failed = True
                raise
            finally:
                cls._finish(failed)
        else:
            cls._finish(failed)

    @classmethod
    def _finish(cls, failed):
        if failed or os.environ.get("RTPSEC_VERBOSE"):
            cls._dump_logs()
        if failed or os.environ.get("RTPSEC_KEEP"):
            sys.stderr.write("test_baresip: logs kept in %s\n" % cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def run(self, result=None):
        before = (len(result.failures) + len(result.errors)) if result else 0
        out = super().run(result)
        if result is not None and \
                len(result.failures) + len(result.errors) > before:
            type(self).failed = True
        return out

    @classmethod
    def _dump_logs(cls):
        for f in sorted(os.listdir(cls.logs)):
            sys.stderr.write("\n===== %s (tail) =====\n%s" %
                             (f, strip_ansi(tail(os.path.join(cls.logs, f),
                                                 80))))

    @classmethod
    def _spawn(cls, name, argv, cwd=None):
        log_f = open(os.path.join(cls.logs, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_f,
                             stderr=subprocess.STDOUT, cwd=cwd)
        log_f.close()
        cls.procs[name] = p
        return p

    @classmethod
    def _stop(cls, name, timeout=10):
        """Stops a process by its PID: SIGTERM, SIGKILL after timeout."""
        p = cls.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return p and p.returncode
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        except ProcessLookupError:
            pass
        return p.returncode

    def kamailio(self, name, flags):
        """Starts Kamailio with kamailio.cfg, rtpengine flags `flags`
        (RTPE_FLAGS) and ctld's ng port; returns its SIP port.  Stopped
        by PID at the end of the test."""
        port = free_ports(RELAY_IP)
        kdir = os.path.join(self.tmp, name)
        os.makedirs(kdir)
        kam = ["kamailio", "-DD", "-E", "-f", KAMCFG, "-Y", kdir,
               "-P", os.path.join(kdir, "kamailio.pid"), "-m", "64",
               "-M", "8", "-A", "SIP_PORT=%d" % port,
               "-A", 'NG_SOCK="udp:127.0.0.1:%d"' % self.cluster.ng_port,
               "-A", 'RTPE_FLAGS="%s"' % flags]
        chk = subprocess.run(kam[:1] + ["-c"] + kam[3:], capture_output=True,
                             timeout=30)
        self.assertEqual(chk.returncode, 0, "kamailio -c failed:\n" +
                         chk.stderr.decode(errors="replace"))
        p = self._spawn(name, kam, cwd=kdir)
        self.addCleanup(self._stop, name)
        deadline = time.monotonic() + 20
        while not self._kam_ready(port):
            self.assertIsNone(p.poll(), "%s exited:\n%s" % (
                name, tail(os.path.join(self.logs, name + ".log"))))
            self.assertLess(time.monotonic(), deadline,
                            "%s does not answer OPTIONS" % name)
            time.sleep(0.25)
        return port

    @classmethod
    def _kam_ready(cls, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", 0))
            lp = s.getsockname()[1]
            msg = ("OPTIONS sip:127.0.0.1:{k} SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:{l};branch=z9hG4bK-ready{r}\r\n"
                   "From: <sip:test@127.0.0.1:{l}>;tag=ready\r\n"
                   "To: <sip:127.0.0.1:{k}>\r\n"
                   "Call-ID: ready-{r}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
                   "Max-Forwards: 5\r\nContent-Length: 0\r\n\r\n").format(
                       k=port, l=lp, r=random.getrandbits(32))
            s.settimeout(0.5)
            s.sendto(msg.encode(), ("127.0.0.1", port))
            r, _ = s.recvfrom(65535)
            return r.startswith(b"SIP/2.0 200")
        except OSError:
            return False
        finally:
            s.close()

    # ------------------------------------------------------ baresip

    def baresip(self, name, ip, account):
        """Starts baresip with a config directory of its own; returns
        (Popen, Ctrl, sip_port, log path)."""
        d = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(d, "snd"))
        sip_port = free_ports(ip, 1, (socket.SOCK_DGRAM, socket.SOCK_STREAM))
        ctrl_port = free_ports(ip, 1, (socket.SOCK_STREAM,))
        # RTP+RTCP pairs, bound to the wildcard address by baresip
        rtp = free_ports("0.0.0.0", 8)
        with open(os.path.join(d, "config"), "w") as f:
            f.write("""# generated by test_baresip.py
poll_method		epoll
sip_listen		{ip}:{sip}
net_interface		{ip}
call_local_timeout	30
call_max_calls		1
audio_source		aufile,{tone}
audio_player		aubridge,{name}-sink
audio_alert		aubridge,{name}-alert
audio_level		no
ausrc_format		s16
auplay_format		s16
rtp_ports		{rlo}-{rhi}
rtp_stats		yes
rtp_timeout		0
rtcp_mux		no
jitter_buffer_delay	1-10
statmode_default	off
module_path		{mods}
module			g711.so
module			aufile.so
module			aubridge.so
module			srtp.so
module			sndfile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		{ip}:{ctrl}
snd_path		{snd}
""".format(ip=ip, sip=sip_port, tone=self.tone, name=name, rlo=rtp,
                rhi=rtp + 7, mods=BARESIP_MODULES, ctrl=ctrl_port,
                snd=os.path.join(d, "snd")))
        with open(os.path.join(d, "accounts"), "w") as f:
            f.write(account.format(ip=ip, port=sip_port) + "\n")
        # nothing to import: an empty contacts file keeps the template out
        open(os.path.join(d, "contacts"), "w").close()
        logpath = os.path.join(self.logs, name + ".log")
        # -s: SIP trace in the log; -t: quit at the latest after 120 s
        p = self._spawn(name, ["baresip", "-f", d, "-s", "-t", "120"], cwd=d)
        self.addCleanup(self._stop, name, 5)
        try:
            ctrl = Ctrl((ip, ctrl_port))
        except OSError:
            self.fail("%s: ctrl_tcp does not answer (exit %s):\n%s" %
                      (name, p.poll(), tail(logpath)))
        self.addCleanup(ctrl.close)
        return p, ctrl, sip_port, logpath

    def read(self, path):
        with open(path, errors="replace") as f:
            return strip_ansi(f.read())

    # ------------------------------------------------------ rtpsec

    def ng(self, d):
        return self.cluster.ng(d)

    def relayd_query(self, cid):
        return self.cluster.zmq_request(
            "relayd", {"v": 1, "op": "call_query", "id": 4711, "call": cid},
            timeout_ms=3000)

    def metric(self, name, **labels):
        return self.cluster.metrics().get(name, None, **labels)

    # ------------------------------------------------------ the test

    def test_1_srtp_caller_plain_callee(self):
        """A (SDES, srtp-mand) calls B (plain): offer flags
        transport-protocol=RTP/AVP."""
        self.call("savp-avp", True, "transport-protocol=RTP/AVP")

    def test_2_plain_caller_srtp_callee(self):
        """A (plain) calls B (SDES, srtp-mand): offer flags
        transport-protocol=RTP/SAVP, suites limited to
        AES_CM_128_HMAC_SHA1_80 (its 30-byte key and salt need no base64
        padding, see test_3)."""
        self.call("avp-savp-cm", False, "transport-protocol=RTP/SAVP "
                  "SDES-only-AES_CM_128_HMAC_SHA1_80")

    def test_3_plain_caller_srtp_callee_sdes_pad(self):
        """A (plain) calls B (SDES, srtp-mand) with every suite offered:
        baresip takes the first it knows, AEAD_AES_256_GCM, whose 44-byte
        key and salt base64 needs padding; baresip 1.0.0's libre decodes
        an unpadded key two bytes short (the SRTP it sends still reaches
        A, what the relay sends it fails authentication), so the offer
        asks for it with SDES-pad as an operator would."""
        self.assertTrue(self.ctld_pads(),
                        "ctld ignores SDES-pad: its offer's a=crypto keys "
                        "have no base64 padding")
        self.call("avp-savp-pad", False,
                  "transport-protocol=RTP/SAVP SDES-pad")

    def ctld_pads(self):
        """Whether ctld's offer carries padded keys with SDES-pad (as
        Kamailio sends the flag: SDES: [pad]); the probe call is deleted."""
        cid = "pad-probe-%d" % random.getrandbits(32)
        r = self.ng({"command": "offer", "call-id": cid, "from-tag": "probe",
                     "transport-protocol": "RTP/SAVP", "SDES": ["pad"],
                     "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\n"
                     "c=IN IP4 127.0.0.2\r\nt=0 0\r\n"
                     "m=audio 20000 RTP/AVP 0\r\n"})
        try:
            self.assertEqual(r.get("result"), "ok", r)
            keys = re.findall(r"a=crypto:\d+ \S+ inline:([^\s|]+)",
                              r.get("sdp", ""))
            self.assertTrue(keys, r)
            return all(len(k) % 4 == 0 for k in keys)
        finally:
            self.ng({"command": "delete", "call-id": cid,
                     "from-tag": "probe"})

    def call(self, case, srtp_caller, flags):
        """One call from A to B through a Kamailio of its own whose
        rtpengine flags are RTPE_FLAGS + flags; srtp_caller: A is the
        SDES side (else B)."""
        t0 = time.monotonic()
        c = self.cluster
        kam = self.kamailio("kamailio-" + case, RTPE_FLAGS + " " + flags)
        m0 = c.metrics()
        srtp = ";mediaenc=srtp-mand"
        bp, bctl, b_port, b_log = self.baresip(
            "baresip-b-" + case, B_IP,
            "<sip:b@{ip}:{port}>;regint=0;answermode=auto;"
            "audio_codecs=PCMU,PCMA" + ("" if srtp_caller else srtp))
        ap, actl, a_port, a_log = self.baresip(
            "baresip-a-" + case, A_IP,
            "<sip:a@{ip}:{port}>;regint=0;answermode=manual;"
            "audio_codecs=PCMU,PCMA;outbound=\"sip:127.0.0.1:%d\"" % kam +
            (srtp if srtp_caller else ""))
        # S: the SRTP side, P: the plain side
        S, P = ("A", "B") if srtp_caller else ("B", "A")
        logs = {"A": a_log, "B": b_log}
        ctls = {"A": actl, "B": bctl}

        r = actl.command("dial", "sip:b@%s:%d" % (B_IP, b_port))
        self.assertTrue(r.get("ok"), "dial: %r" % r)
        end = ("CALL_ESTABLISHED", "CALL_CLOSED")
        ea = actl.wait_event(end, 15)
        eb = bctl.wait_event(end, 5 if ea else 1)
        if not (ea and eb and ea["type"] == eb["type"] == "CALL_ESTABLISHED"):
            got = [m for _s, _d, m in sip_messages(self.read(b_log))
                   if m.startswith("INVITE ")]
            ans = [m for _s, _d, m in sip_messages(self.read(a_log))
                   if m.startswith("SIP/2.0 200")]
            self.fail("call not established (A: %s, B: %s); ng errors %d; "
                      "B got the offer %r, A the answer %r\nA:\n%s\nB:\n%s"
                      % (ea and "%s %s" % (ea["type"], ea.get("param", "")),
                         eb and "%s %s" % (eb["type"], eb.get("param", "")),
                         self.ng_errors(m0), got and sdp_of(got[0]),
                         ans and sdp_of(ans[-1]), tail(a_log, 30),
                         tail(b_log, 30)))
        self.assertIn("Call established", self.read(a_log))
        self.assertIn("Call established", self.read(b_log))

        # the SDP each side sent and got, from their SIP traces
        def invites(who):
            return [(s, d, m) for s, d, m in sip_messages(self.read(logs[who]))
                    if m.startswith("INVITE ")]

        def oks(who):
            return [(s, d, m) for s, d, m in sip_messages(self.read(logs[who]))
                    if m.startswith("SIP/2.0 200") and
                    re.search(r"^CSeq: *\d+ INVITE", m, re.M | re.I)]
        sdp = {}
        for who, msgs, kind in (("A", invites("A"), "sent"),
                                ("B", invites("B"), "got"),
                                ("B", oks("B"), "sent"),
                                ("A", oks("A"), "got")):
            ip = A_IP if who == "A" else B_IP
            mine = [m for s, d, m in msgs
                    if (s if kind == "sent" else d).startswith(ip + ":")]
            self.assertTrue(mine, "%s %s no INVITE/200 with SDP" % (who, kind))
            sdp[who, kind] = sdp_of(mine[0]), mine[0]
            self.assertIsNotNone(sdp[who, kind][0], mine[0])
        inwin = lambda p: c.port_min <= (p or 0) <= c.port_max
        for who in "AB":
            got, text = sdp[who, "got"]
            self.assertEqual(got["proto"],
                             "RTP/SAVP" if who == S else "RTP/AVP", text)
            self.assertTrue(got["c"] and set(got["c"]) == {RELAY_IP}, text)
            self.assertTrue(inwin(got["port"]), text)
            sent, text = sdp[who, "sent"]
            self.assertEqual(sent["proto"],
                             "RTP/SAVP" if who == S else "RTP/AVP", text)
        self.assertEqual(sdp[P, "got"][0]["crypto"], [], sdp[P, "got"][1])
        self.assertTrue(sdp[S, "sent"][0]["crypto"], sdp[S, "sent"][1])
        s_got = sdp[S, "got"][0]["crypto"]
        if srtp_caller:
            # rtpsec's answer: one line, a suite A offered, its own key
            self.assertEqual(len(s_got), 1, sdp[S, "got"][1])
            offered = {l.split()[1]: l.split()[2]
                       for l in sdp[S, "sent"][0]["crypto"]}
            tag, suite, key = s_got[0].split()[:3]
            self.assertIn(suite, offered, "answer's suite not offered by A")
            self.assertNotEqual(key, offered[suite], "A's own key came back")
        else:
            # rtpsec's offer: a line per suite offered (docs/srtp.md), tags
            # 1..n;
            # B answers with one of them and a key of its own
            self.assertGreaterEqual(len(s_got), 1, sdp[S, "got"][1])
            self.assertEqual([l.split()[0] for l in s_got],
                             [str(i) for i in range(1, len(s_got) + 1)])
            self.assertEqual(len(sdp[S, "sent"][0]["crypto"]), 1,
                             sdp[S, "sent"][1])
            tag, suite, key = sdp[S, "sent"][0]["crypto"][0].split()[:3]
            self.assertIn("%s %s" % (tag, suite),
                          [" ".join(l.split()[:2]) for l in s_got])
            suite_b = suite
        a_port_relay = sdp["A", "got"][0]["port"]
        b_port_relay = sdp["B", "got"][0]["port"]
        self.assertNotEqual(a_port_relay, b_port_relay)

        # media for CALL_SECONDS, then rtpsec's view while the call is up
        time.sleep(CALL_SECONDS)
        calls = self.ng({"command": "list", "limit": 10}).get("calls", [])
        self.assertEqual(len(calls), 1, calls)
        cid = calls[0]
        q = self.ng({"command": "query", "call-id": cid})
        self.assertEqual(q.get("result"), "ok", q)
        rq = self.relayd_query(cid)
        self.assertIsNotNone(rq, "relayd: no reply to call_query")
        stat = {w: ctls[w].command("callstat").get("data", "") for w in "AB"}
        with open(os.path.join(self.logs, case + "-queries.json"), "w") as f:
            json.dump({"ng query": q, "relayd call_query": rq,
                       "A callstat": stat["A"], "B callstat": stat["B"]}, f,
                      indent=1, default=repr)

        # ng query: the SRTP side's media is RTP/SAVP with SDES and SRTP
        # counters, the plain side's RTP/AVP without
        tags = q.get("tags") or {}
        self.assertEqual(len(tags), 2, q)
        sides = {}
        for tag, t in tags.items():
            md = t["medias"][0]
            sides[md.get("protocol")] = (tag, md)
        self.assertEqual(sorted(sides), ["RTP/AVP", "RTP/SAVP"],
                         "media protocols in query: %r" % q)
        s_md, p_md = sides["RTP/SAVP"][1], sides["RTP/AVP"][1]
        self.assertIn("SDES", s_md.get("flags", []), s_md)
        self.assertNotIn("SDES", p_md.get("flags", []), p_md)

        def rtp_stream(md):
            return [s for s in md["streams"] if "RTP" in s.get("flags", [])][0]
        s_rtp, p_rtp = rtp_stream(s_md), rtp_stream(p_md)
        for s in (s_rtp, p_rtp):
            self.assertEqual(s["local address"], RELAY_IP, s)
            self.assertTrue(inwin(s["local port"]), s)
        self.assertEqual(s_rtp["local port"], sdp[S, "got"][0]["port"])
        self.assertEqual(p_rtp["local port"], sdp[P, "got"][0]["port"])
        dec = s_rtp["stats"].get("SRTP decrypted", 0)
        enc = s_rtp["stats"].get("SRTP encrypted", 0)
        self.assertGreater(dec, MIN_PACKETS, "%s's leg: %r" % (S, s_rtp))
        self.assertGreater(enc, MIN_PACKETS, "%s's leg: %r" % (S, s_rtp))
        self.assertGreater(p_rtp["stats"]["packets"], MIN_PACKETS, p_rtp)
        self.assertEqual(p_rtp["stats"].get("SRTP decrypted", 0), 0, p_rtp)
        self.assertEqual(p_rtp["stats"].get("SRTP encrypted", 0), 0, p_rtp)
        self.assertTrue(s_rtp.get("crypto suite"), s_rtp)
        if not srtp_caller:
            self.assertEqual(s_rtp.get("crypto suite"), suite_b, s_rtp)

        # relayd: SRTP on the SRTP side's leg only, nothing dropped for
        # SRTP reasons but one packet: baresip 1.0.0 sends an RTCP APP
        # "PING"/"PONG" (16 bytes) in clear when its stream starts, before
        # its SRTP is on, then the same packet as SRTCP; relayd cannot
        # unprotect the clear one (too short for SRTCP: srtp_error)
        legs = rq.get("legs", [])
        self.assertEqual(len(legs), 2, rq)
        srtp_legs = [l for l in legs if l["media"][0]["srtp_in"]]
        self.assertEqual(len(srtp_legs), 1, legs)
        self.assertGreater(srtp_legs[0]["srtp_decrypted"], MIN_PACKETS, legs)
        self.assertGreater(srtp_legs[0]["srtp_encrypted"], MIN_PACKETS, legs)
        drops = {}
        for l in legs:
            for md in l["media"]:
                for s in md["streams"]:
                    for k, v in s.get("drops", {}).items():
                        if not v:
                            continue
                        key = (S if l is srtp_legs[0] else P,
                               "RTCP" if s["rtcp"] else "RTP", k)
                        drops[key] = drops.get(key, 0) + v
        self.assertLessEqual(drops.pop((S, "RTCP", "srtp_error"), 0), 1,
                             "relayd drops on %s's RTCP %r" % (S, legs))
        bad = {k: v for k, v in drops.items() if k[2].startswith("srtp_")}
        self.assertEqual(bad, {}, "relayd SRTP drops: %r" % drops)

        # keyd holds the call's key sets while it is up
        self.wait_for("rtpsec_keyd_key_sets > 0 during the call",
                      lambda: (self.metric("rtpsec_keyd_key_sets") or 0) > 0,
                      5)

        # baresip's own view during the call
        for who, st in stat.items():
            m = re.search(r"packets:\s+(\d+)\s+(\d+)", strip_ansi(st))
            if m:   # callstat shows "packets: tx rx" in 1.0.0
                self.assertGreater(int(m.group(2)), MIN_PACKETS,
                                   "%s callstat:\n%s" % (who, st))

        # A hangs up; the BYE goes through Kamailio
        r = actl.command("hangup")
        self.assertTrue(r.get("ok"), "hangup: %r" % r)
        self.assertIsNotNone(actl.wait_event("CALL_CLOSED", 10),
                             "A: no CALL_CLOSED")
        self.assertIsNotNone(bctl.wait_event("CALL_CLOSED", 10),
                             "B: no CALL_CLOSED (BYE not relayed?)")
        for who, ctl, p in (("baresip-a-" + case, actl, ap),
                            ("baresip-b-" + case, bctl, bp)):
            try:
                ctl.command("quit", timeout=3)
            except (RuntimeError, OSError):
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self._stop(who, 5)

        # baresip's RTP statistics at the end of the call, both sides
        st = {w: rtp_stats(self.read(logs[w])) for w in "AB"}
        for w in "AB":
            self.assertGreater(st[w].get("rx", 0), MIN_PACKETS,
                               "%s received (baresip): %r\n%s" %
                               (w, st[w], tail(logs[w])))
            self.assertEqual(st[w].get("rx_errors", 0), 0, st[w])
        self.assertNotIn("srtp: failed", self.read(logs[S]))

        # what each side decoded (sndfile's dump) is the other's 1 kHz tone
        tones = {}
        for w in "AB":
            dumps = glob.glob(os.path.join(
                self.tmp, "baresip-%s-%s" % (w.lower(), case), "snd",
                "*-dec.wav"))
            self.assertEqual(len(dumps), 1, "%s: decoded audio dumps %r"
                             % (w, dumps))
            share, rms, secs = tone_check(dumps[0])
            tones[w] = share
            self.assertGreater(secs, CALL_SECONDS - 1, "%s: %.1fs of "
                               "decoded audio" % (w, secs))
            self.assertGreater(share, 0.9, "%s: %.3f of the decoded audio's "
                               "energy at 1 kHz" % (w, share))
            self.assertGreater(rms, 2000, "%s: decoded audio RMS %.0f"
                               % (w, rms))

        # afterwards: nothing left in ctld, Redis, relayd, keyd
        self.wait_for("no call in ctld", lambda: not self.ng(
            {"command": "list", "limit": 10}).get("calls"), 10)
        self.wait_for("no call record in Redis", lambda: not c.redis_cmd(
            "KEYS", "rtpsec:call:*"), 10)
        relayd_pid = c.procs["relayd"].pid
        self.wait_for("relayd's media ports closed",
                      lambda: not relayd_ports(relayd_pid, c.port_min,
                                               c.port_max), 10)
        self.wait_for("rtpsec_keyd_key_sets 0",
                      lambda: self.metric("rtpsec_keyd_key_sets") == 0, 10)
        self.wait_for("rtpsec_ports_used 0",
                      lambda: self.metric("rtpsec_ports_used") == 0, 10)
        m = c.metrics()
        self.assertEqual(self.ng_errors(m0, m), 0, "ng commands answered "
                         "with an error")
        self.assert_kamailio_quiet("kamailio-" + case)
        c.check_alive()
        for d in ("keyd", "relayd", "ctld", "statsd"):     # B=build-asan
            bad = [ln for ln in c.log_text(d).splitlines()
                   if "Sanitizer" in ln or "runtime error:" in ln]
            self.assertEqual(bad, [], "%s log" % d)
        sys.stderr.write(
            "\n  baresip %s: %s SRTP (%s) <-> %s plain: established; "
            "baresip received A %d / B %d RTP packets (sent A %d / B %d); "
            "relayd SRTP decrypted %d, encrypted %d on %s's leg, %d plain "
            "packets from %s; decoded 1 kHz share A %.4f / B %.4f; %.1fs\n"
            % (case, S, s_rtp.get("crypto suite"), P, st["A"].get("rx", 0),
               st["B"].get("rx", 0), st["A"].get("tx", 0),
               st["B"].get("tx", 0), dec, enc, S, p_rtp["stats"]["packets"],
               P, tones["A"], tones["B"], time.monotonic() - t0))

    # ------------------------------------------------------ checks

    def wait_for(self, what, cond, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.25)
        self.fail("timed out after %ss waiting for %s" % (timeout, what))

    def ng_errors(self, m0, m=None):
        m = m or self.cluster.metrics()
        return ((m.get("rtpsec_ng_requests_total", 0, result="error") or 0) -
                (m0.get("rtpsec_ng_requests_total", 0, result="error") or 0))

    def assert_kamailio_quiet(self, name):
        """Kamailio `name` logged no error (no failed or refused rtpengine
        command)."""
        with open(os.path.join(self.logs, name + ".log"),
                  errors="replace") as f:
            bad = [ln.rstrip() for ln in f
                   if " ERROR: " in ln or " CRITICAL: " in ln or
                   "RTPSEC:" in ln]
        self.assertEqual(bad, [], "%s logged errors" % name)


def relayd_ports(pid, lo, hi):
    """Ports in lo..hi held by UDP sockets of process pid."""
    mine = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", t)
            if m:
                mine.add(int(m.group(1)))
    except OSError:
        pass
    out = set()
    for f in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(f) as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            fl = ln.split()
            port = int(fl[1].rsplit(":", 1)[1], 16)
            if lo <= port <= hi and int(fl[9]) in mine:
                out.add(port)
    return sorted(out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
