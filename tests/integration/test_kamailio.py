#!/usr/bin/env python3
"""rtpsec behind Kamailio: real SIP calls between two sipp instances.

Starts a private redis-server and the four daemons (own temporary run
directory, free ports, a media port window of its own), then Kamailio 5.6
(tests/integration/kamailio/kamailio.cfg) as a stateful proxy whose
rtpengine module points at ctld's ng port: rtpengine_offer on INVITE,
rtpengine_answer on 18x/2xx with SDP, rtpengine_delete on BYE, CANCEL and
failure.  Calls go from a sipp UAC (127.0.0.2) through Kamailio
(127.0.0.1) to a sipp UAS (127.0.0.3); both play a generated G.711 A-law
pcap to the media address in the SDP they receive, which must be the relay.

  test_1_single_call  one call: it completes; the UAS got an offer whose
                      c= is 127.0.0.1 and m= port lies in relayd's window
                      (checked by the UAS scenario and in its message log);
                      while the call is up, ng `query` shows every packet
                      each side sent relayed (both directions); after the
                      BYE the call is gone.
  test_2_load         100 concurrent calls (sipp -l 100 -m 100, 50 calls/s,
                      3 s each) all complete; afterwards 0 calls (ng list,
                      Redis index, statsd gauges), 0 relayd sockets in the
                      window (/proc/net/udp) and rtpsec_ports_used 0;
                      ctld created and deleted exactly 100 calls, answered
                      no ng command with an error, and relayd relayed the
                      media of every call.
  test_3_call_flows   one call each, with other rtpengine flags (sent in an
                      X-RTPE-Flags header the Kamailio config honours):
                      early media (answers in 183 and 200), a re-INVITE from
                      the callee and a BYE from the callee, with
                      via-branch=auto: ports stay put, media flows, the call
                      ends; a late offer (INVITE without SDP, offer in the
                      200, answer in the ACK) with media both ways;
                      a CANCEL while ringing (SIP-source-address) and
                      a 486 (ICE=force): the offer pointed at the relay and
                      the call is gone afterwards.
  Every test also checks that Kamailio logged no error (no failed or
  refused rtpengine command).

Needs root (sipp plays pcap through a raw socket), kamailio with its
rtpengine module, sipp, redis-server, and `make all`.  Everything listens
on loopback; every process is bounded in time and stopped by its PID.
Environment: B (build directory, default build), RTPSEC_KEEP=1 keeps the
run directory, RTPSEC_VERBOSE=1 prints the logs even on success;
RTPSEC_KAM_CALLS, RTPSEC_KAM_RATE, RTPSEC_KAM_CALL_MS scale the load test
(default 100 calls, 50/s, 3000 ms).
"""
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
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, os.environ.get("B", "build"))
KAMDIR = os.path.join(HERE, "kamailio")
KAM_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"

UAC_IP = "127.0.0.2"
UAS_IP = "127.0.0.3"
RELAY_IP = "127.0.0.1"

PCAP_PACKETS = 75           # 1.5 s of 20 ms PCMA packets, each direction
RTP_PAYLOAD = 160
# the load test; the environment can scale it up for a manual stress run
LOAD_CALLS = int(os.environ.get("RTPSEC_KAM_CALLS", 100))
LOAD_RATE = int(os.environ.get("RTPSEC_KAM_RATE", 50))      # calls per second
LOAD_CALL_MS = int(os.environ.get("RTPSEC_KAM_CALL_MS", 3000))
SINGLE_CALL_MS = 5000
# relayd ports: 100 calls x 2 legs x RTP+RTCP = 400, and room to spare
PORT_WINDOW = max(1000, 4 * LOAD_CALLS + 200)


# ---------------------------------------------------------------- bencode

def benc(v):
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, (list, tuple)):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(x) for k, x in v.items()) + b"e"
    raise TypeError(type(v))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode() if isinstance(k, bytes) else k] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    s = b[j + 1:j + 1 + n]
    if len(s) != n:
        raise ValueError("truncated bencode string")
    try:
        return s.decode(), j + 1 + n
    except UnicodeDecodeError:
        return s, j + 1 + n


def ng(addr, cmd, timeout=2.0, tries=3):
    """One ng command over UDP; returns the reply dict (None: no reply)."""
    cookie = ("t%d_%d" % (os.getpid(), random.getrandbits(40))).encode()
    data = cookie + b" " + benc(cmd)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        for _ in range(tries):
            s.sendto(data, addr)
            try:
                while True:
                    r, _src = s.recvfrom(262144)
                    c, _, body = r.partition(b" ")
                    if c == cookie:
                        return bdec(body)[0]
            except socket.timeout:
                continue
    finally:
        s.close()
    return None


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


def free_port(ip, span=1, kinds=(socket.SOCK_DGRAM,), lo=20000, hi=30000):
    """A port p with p..p+span-1 free on ip (outside the ephemeral range),
    and not handed out before by this function."""
    for _ in range(500):
        p = random.randrange(lo, hi - span) & ~1
        ports = set(range(p, p + span))
        if not ports & _taken and all(port_free(ip, q, kinds) for q in ports):
            _taken.update(ports)
            return p
    raise RuntimeError("no free port on %s" % ip)


def udp_ports_in_use():
    """{port: inode} of every IPv4/IPv6 UDP socket of the host."""
    out = {}
    for f in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(f) as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            fl = ln.split()
            port = int(fl[1].rsplit(":", 1)[1], 16)
            out.setdefault(port, []).append(int(fl[9]))
    return out


def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", t)
            if m:
                inodes.add(int(m.group(1)))
    except OSError:
        pass
    return inodes


def relayd_ports(pid, lo, hi):
    """Ports in lo..hi held by sockets of process pid."""
    mine = socket_inodes(pid)
    return sorted(p for p, inos in udp_ports_in_use().items()
                  if lo <= p <= hi and any(i in mine for i in inos))


def window_free(lo, hi):
    used = udp_ports_in_use()
    return not any(lo <= p <= hi for p in used)


def write_pcap(path, packets, payload_len=RTP_PAYLOAD, pt=8, ptime_ms=20):
    """An Ethernet/IPv4/UDP/RTP capture sipp can play: `packets` PCMA
    packets, one every ptime_ms, from port 5000 to 6000 (sipp rewrites
    addresses and ports)."""
    ssrc = random.getrandbits(32)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for n in range(packets):
            rtp = struct.pack("!BBHII", 0x80, pt | (0x80 if n == 0 else 0),
                              n & 0xffff, n * 8 * ptime_ms, ssrc)
            rtp += b"\xd5" * payload_len
            udp = struct.pack("!HHHH", 5000, 6000, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0,
                             64, 17, 0, socket.inet_aton("10.0.0.1"),
                             socket.inet_aton("10.0.0.2"))
            csum = 0
            for i in range(0, 20, 2):
                csum += (ip[i] << 8) | ip[i + 1]
            while csum >> 16:
                csum = (csum & 0xffff) + (csum >> 16)
            ip = ip[:10] + struct.pack("!H", ~csum & 0xffff) + ip[12:]
            frame = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00"
            frame += ip + udp
            t = n * ptime_ms * 1000
            f.write(struct.pack("<IIII", 1700000000 + t // 1000000,
                                t % 1000000, len(frame), len(frame)))
            f.write(frame)


def sipp_stats(path):
    """The last row of a sipp -trace_stat CSV as a dict."""
    try:
        with open(path) as f:
            rows = [r for r in f.read().splitlines() if r.strip()]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    head = rows[0].rstrip(";").split(";")
    last = rows[-1].rstrip(";").split(";")
    return dict(zip(head, last))


def tail(path, n=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(%s)" % e


# ---------------------------------------------------------------- the test

@unittest.skipUnless(shutil.which("kamailio") and shutil.which("sipp")
                     and shutil.which("redis-server"),
                     "needs kamailio, sipp and redis-server")
@unittest.skipUnless(os.path.isdir(os.path.join(KAM_MODULES)) and
                     os.path.exists(os.path.join(KAM_MODULES, "rtpengine.so")),
                     "needs Kamailio's rtpengine module (kamailio-extra-modules)")
@unittest.skipUnless(os.geteuid() == 0,
                     "needs root: sipp plays RTP from a pcap through a raw socket")
class KamailioTest(unittest.TestCase):
    procs = {}
    exits = {}

    # ------------------------------------------------------ start / stop

    @classmethod
    def setUpClass(cls):
        for d in ("keyd", "relayd", "ctld", "statsd"):
            if not os.access(os.path.join(BUILD, d), os.X_OK):
                raise unittest.SkipTest("%s/%s not built (make all)" % (BUILD, d))
        cls.tmp = tempfile.mkdtemp(prefix="rtpsec-kam.")
        cls.run_dir = os.path.join(cls.tmp, "run")
        cls.logs = os.path.join(cls.tmp, "logs")
        cls.kam_dir = os.path.join(cls.tmp, "kamailio")
        cls.sipp_dir = os.path.join(cls.tmp, "sipp")
        for d in (cls.run_dir, cls.logs, cls.kam_dir, cls.sipp_dir):
            os.makedirs(d)
        # the daemons chown run_dir to root:rtpsec 0750 and drop to rtpsec;
        # tmp itself must be traversable
        os.chmod(cls.tmp, 0o755)
        cls.procs = {}
        cls.exits = {}
        cls.failed = False
        try:
            cls._start_all()
        except BaseException:
            cls._dump_logs()
            cls._stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop_all()
        # a daemon must stop cleanly on SIGTERM (a crash or a sanitizer
        # report on the way out is a failure too)
        bad = {d: rc for d, rc in cls.exits.items()
               if d in ("keyd", "relayd", "ctld", "statsd") and rc != 0}
        if bad:
            cls.failed = True
        if cls.failed or os.environ.get("RTPSEC_VERBOSE"):
            cls._dump_logs()
        if os.environ.get("RTPSEC_KEEP") or cls.failed:
            sys.stderr.write("test_kamailio: logs kept in %s\n" % cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)
        if bad:
            raise AssertionError("daemons did not exit cleanly on SIGTERM: %r" % bad)

    def run(self, result=None):
        result = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self).failed = True
        return result

    @classmethod
    def _spawn(cls, name, argv, cwd=None):
        log = open(os.path.join(cls.logs, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, cwd=cwd)
        log.close()
        cls.procs[name] = p
        return p

    @classmethod
    def _stop(cls, name, timeout=10):
        """Stops a process by its PID (SIGTERM, SIGKILL after timeout);
        records its exit status in cls.exits."""
        p = cls.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except ProcessLookupError:
                pass
        cls.exits[name] = p.returncode

    @classmethod
    def _stop_all(cls):
        # Kamailio's main process stops its children on SIGTERM; sipp and the
        # daemons are single processes.
        for name in [n for n in cls.procs if n.startswith("sipp")]:
            cls._stop(name, 5)
        for name in ("kamailio", "statsd", "ctld", "relayd", "keyd", "redis"):
            cls._stop(name)

    @classmethod
    def _dump_logs(cls):
        for f in sorted(os.listdir(cls.logs)):
            sys.stderr.write("\n===== %s (tail) =====\n%s" %
                             (f, tail(os.path.join(cls.logs, f))))

    @classmethod
    def _wait(cls, what, cond, timeout, interval=0.1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n, p in cls.procs.items():
                if p.poll() is not None and not n.startswith("sipp"):
                    raise RuntimeError("%s exited (%s) while waiting for %s" %
                                       (n, p.returncode, what))
            v = cond()
            if v:
                return v
            time.sleep(interval)
        raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))

    @classmethod
    def _start_all(cls):
        # ports: ng (UDP + TCP), metrics, relay window, SIP, media
        both = (socket.SOCK_DGRAM, socket.SOCK_STREAM)
        cls.ng_port = free_port("127.0.0.1", 1, both)
        cls.ng = ("127.0.0.1", cls.ng_port)
        cls.http_port = free_port("127.0.0.1", 1, (socket.SOCK_STREAM,))
        for _ in range(200):
            lo = random.randrange(40000, 60000 - PORT_WINDOW) & ~1
            hi = lo + PORT_WINDOW - 1
            if window_free(lo, hi):
                break
        else:
            raise RuntimeError("no free media port window in 40000-60000")
        cls.port_min, cls.port_max = lo, hi
        cls.kam_port = free_port("127.0.0.1")
        cls.uac_port = free_port(UAC_IP)
        cls.uas_port = free_port(UAS_IP)
        cls.uac_media = free_port(UAC_IP, 4)
        cls.uas_media = free_port(UAS_IP, 4)

        cls.conf = os.path.join(cls.tmp, "rtpsec.conf")
        with open(cls.conf, "w") as f:
            f.write("[common]\nrun_dir = %s\nredis = unix:redis.sock\n"
                    "node_id = node1\nstats_interval_ms = 500\n\n"
                    "[relayd]\ninterface = 127.0.0.1\nport_min = %d\n"
                    "port_max = %d\nmedia_timeout = 60\n\n"
                    "[ctld]\nng_listen = 127.0.0.1:%d\ndelete_delay = 0\n\n"
                    "[statsd]\nhttp_listen = 127.0.0.1:%d\n"
                    % (cls.run_dir, cls.port_min, cls.port_max,
                       cls.ng_port, cls.http_port))
            if "asan" in os.path.basename(os.environ.get("B", "build")):
                # as cluster.py: sanitizer runtimes need /proc and
                # syscalls outside the allow-list (exit hangs otherwise)
                f.write("\n[common]\nseccomp = no\nchroot = no\n")

        sock = os.path.join(cls.run_dir, "redis.sock")
        cls.redis_sock = sock
        cls._spawn("redis", ["redis-server", "--port", "0", "--unixsocket", sock,
                             "--unixsocketperm", "777", "--save", "",
                             "--appendonly", "no", "--dir", cls.tmp,
                             "--loglevel", "warning"])
        cls._wait("redis socket", lambda: os.path.exists(sock), 10)
        for d in ("keyd", "relayd", "ctld", "statsd"):
            cls._spawn(d, [os.path.join(BUILD, d), "-f", cls.conf])
        cls._wait("ctld ng ping", lambda: (ng(cls.ng, {"command": "ping"},
                                                timeout=0.3, tries=1) or {})
                  .get("result") == "pong", 15)
        cls._wait("statsd /health: every daemon up",
                  lambda: cls._health_up(), 15, 0.25)

        # Kamailio
        cls.kam_pid = os.path.join(cls.kam_dir, "kamailio.pid")
        kam = ["kamailio", "-DD", "-E", "-f", os.path.join(KAMDIR, "kamailio.cfg"),
               "-Y", cls.kam_dir, "-P", cls.kam_pid, "-m", "64", "-M", "8",
               "-A", "SIP_PORT=%d" % cls.kam_port,
               "-A", 'NG_SOCK="udp:127.0.0.1:%d"' % cls.ng_port]
        chk = subprocess.run(kam[:1] + ["-c"] + kam[3:], capture_output=True,
                             timeout=30)
        if chk.returncode != 0:
            raise RuntimeError("kamailio -c failed:\n" +
                               chk.stderr.decode(errors="replace"))
        cls._spawn("kamailio", kam, cwd=cls.kam_dir)
        cls._wait("Kamailio answering OPTIONS", cls._kam_ready, 20, 0.25)

        # sipp looks for the pcap next to the scenario: both go in sipp_dir
        write_pcap(os.path.join(cls.sipp_dir, "g711a.pcap"), PCAP_PACKETS)
        for f in os.listdir(KAMDIR):
            if f.endswith(".xml"):
                shutil.copy(os.path.join(KAMDIR, f), cls.sipp_dir)

    @classmethod
    def _health_up(cls):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" %
                                        cls.http_port, timeout=1) as r:
                return r.status == 200
        except Exception:
            return False

    @classmethod
    def _kam_ready(cls):
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
                       k=cls.kam_port, l=lp, r=random.getrandbits(32))
            s.settimeout(0.5)
            s.sendto(msg.encode(), ("127.0.0.1", cls.kam_port))
            r, _ = s.recvfrom(65535)
            return r.startswith(b"SIP/2.0 200")
        except OSError:
            return False
        finally:
            s.close()

    # ------------------------------------------------------ observations

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
                                    self.http_port, timeout=3) as r:
            text = r.read().decode()
        out = {}
        for ln in text.splitlines():
            if not ln or ln.startswith("#"):
                continue
            name, _, val = ln.rpartition(" ")
            try:
                out[name] = float(val)
            except ValueError:
                pass
        return out

    @staticmethod
    def metric(m, family, **labels):
        """Sum of the series of family whose labels include labels."""
        total, seen = 0.0, False
        for k, v in m.items():
            fam, _, rest = k.partition("{")
            if fam != family:
                continue
            if all('%s="%s"' % (a, b) in rest for a, b in labels.items()):
                total += v
                seen = True
        return total if seen else None

    def ng_list(self):
        r = ng(self.ng, {"command": "list", "limit": 1000})
        self.assertIsNotNone(r, "no reply to ng list")
        self.assertEqual(r.get("result"), "ok", r)
        return r.get("calls", [])

    def redis_index(self):
        cli = ["redis-cli", "-s", self.redis_sock]
        members = subprocess.run(cli + ["SMEMBERS", "rtpsec:node:node1:calls"],
                                 capture_output=True, timeout=10, text=True)
        keys = subprocess.run(cli + ["--scan", "--pattern", "rtpsec:call:*"],
                              capture_output=True, timeout=10, text=True)
        self.assertEqual(members.returncode, 0, members.stderr)
        self.assertEqual(keys.returncode, 0, keys.stderr)
        return ([x for x in members.stdout.split() if x],
                [x for x in keys.stdout.split() if x])

    @staticmethod
    def tag_packets(q):
        """{tag: RTP packets relayd received from that party} from a query."""
        out = {}
        for tag, t in (q.get("tags") or {}).items():
            n = 0
            for m in t.get("medias", []):
                for s in m.get("streams", []):
                    if "RTP" in s.get("flags", []):
                        n += s.get("stats", {}).get("packets", 0)
            out[tag] = n
        return out

    def sipp(self, name, scenario, *args):
        """Starts sipp; returns (Popen, files)."""
        base = os.path.join(self.sipp_dir, name)
        files = {k: base + "." + k for k in ("msg", "err", "log", "csv", "out")}
        argv = ["sipp", "-sf", os.path.join(self.sipp_dir, scenario + ".xml"),
                "-nostdin", "-trace_msg", "-message_file", files["msg"],
                "-trace_err", "-error_file", files["err"],
                "-trace_logs", "-log_file", files["log"],
                "-trace_stat", "-stf", files["csv"], "-fd", "1",
                "-timeout", "90s", "-timeout_error",
                "-max_retrans", "5", "-t", "u1"] + list(args)
        log = open(files["out"], "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, cwd=self.sipp_dir)
        log.close()
        self.procs[name] = p
        return p, files

    def uas(self, name, calls, scenario="uas"):
        return self.sipp(name, scenario, "-i", UAS_IP, "-p", str(self.uas_port),
                         "-mi", UAS_IP, "-mp", str(self.uas_media),
                         "-m", str(calls))

    def uac(self, name, calls, limit, rate, call_ms, scenario="uac", *extra):
        return self.sipp(name, scenario, "-i", UAC_IP, "-p", str(self.uac_port),
                         "-mi", UAC_IP, "-mp", str(self.uac_media),
                         "-rsa", "127.0.0.1:%d" % self.kam_port,
                         "-s", "callee", "-m", str(calls), "-l", str(limit),
                         "-r", str(rate), "-d", str(call_ms), *extra,
                         "%s:%d" % (UAS_IP, self.uas_port))

    def finish(self, name, p, files, timeout):
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
            self.fail("%s did not finish within %ss:\n%s" %
                      (name, timeout, tail(files["out"], 30)))
        finally:
            self.procs.pop(name, None)
        return rc

    def sipp_report(self, files):
        return ("sipp stats: %s\nerrors:\n%s\noutput:\n%s" %
                ({k: v for k, v in sipp_stats(files["csv"]).items()
                  if k.startswith(("SuccessfulCall", "FailedCall",
                                   "TotalCallCreated"))},
                 tail(files["err"], 30), tail(files["out"], 30)))

    def offered_ports(self, msgfile):
        """The m= ports of the INVITE offers the UAS received."""
        with open(msgfile, errors="replace") as f:
            text = f.read()
        out = []
        for inv in re.split(r"\n-+ ", text):
            if re.search(r"^\s*INVITE sip:", inv, re.M) and "received" in inv:
                body_c = re.findall(r"^c=IN IP4 (\S+)", inv, re.M)
                mport = re.findall(r"^m=audio (\d+) ", inv, re.M)
                out.append((body_c, [int(x) for x in mport]))
        return out

    def assert_kamailio_quiet(self):
        """Kamailio logged no error (rtpengine module: no failed command,
        no error reply; core: no malformed message from the scenarios)."""
        with open(os.path.join(self.logs, "kamailio.log"), errors="replace") as f:
            bad = [ln.rstrip() for ln in f
                   if " ERROR: " in ln or " CRITICAL: " in ln or "RTPSEC:" in ln]
        self.assertEqual(bad, [], "Kamailio logged errors")

    def assert_alive(self):
        """Every daemon, redis and Kamailio still run, and no daemon log has
        a sanitizer report (B=build-asan)."""
        for n in ("redis", "keyd", "relayd", "ctld", "statsd", "kamailio"):
            p = self.procs.get(n)
            self.assertTrue(p is not None and p.poll() is None,
                            "%s exited (%s):\n%s" % (n, p and p.returncode,
                            tail(os.path.join(self.logs, n + ".log"), 30)))
        for n in ("keyd", "relayd", "ctld", "statsd"):
            with open(os.path.join(self.logs, n + ".log"), errors="replace") as f:
                bad = [ln for ln in f if "Sanitizer" in ln or "runtime error:" in ln]
            self.assertEqual(bad, [], "%s log" % n)

    def assert_clean(self):
        """No call, no Redis record, no relayd socket in the window."""
        self.assert_alive()
        try:
            self._wait("ng list empty", lambda: not self.ng_list(), 10, 0.25)
        except RuntimeError:
            pass
        self.assertEqual(self.ng_list(), [], "calls left in ctld")
        members, keys = self.redis_index()
        self.assertEqual(members, [], "Redis index rtpsec:node:node1:calls")
        self.assertEqual(keys, [], "call records left in Redis")
        relayd = self.procs["relayd"].pid
        try:
            self._wait("relayd sockets closed",
                       lambda: not relayd_ports(relayd, self.port_min,
                                                self.port_max), 10, 0.25)
        except RuntimeError:
            pass
        self.assertEqual(relayd_ports(relayd, self.port_min, self.port_max), [],
                         "relayd still holds media ports")

        def gauges_zero():
            m = self.metrics()
            return (self.metric(m, "rtpsec_calls_active") == 0 and
                    self.metric(m, "rtpsec_relay_calls") == 0 and
                    self.metric(m, "rtpsec_ports_used") == 0) and m
        try:
            m = self._wait("statsd gauges at 0", gauges_zero, 10, 0.5)
        except RuntimeError:
            m = self.metrics()
        for g in ("rtpsec_calls_active", "rtpsec_relay_calls", "rtpsec_ports_used"):
            self.assertEqual(self.metric(m, g), 0, "%s in /metrics" % g)
        return m

    # ------------------------------------------------------ tests

    def test_1_single_call(self):
        t0 = time.monotonic()
        m0 = self.metrics()
        uas, uas_files = self.uas("sipp-uas-1", 1)
        time.sleep(0.3)
        uac, uac_files = self.uac("sipp-uac-1", 1, 1, 1, SINGLE_CALL_MS)

        # while the call is up: find it and wait for all media both ways
        calls = self._wait("the call in ng list", lambda: self.ng_list(), 10, 0.1)
        self.assertEqual(len(calls), 1, calls)
        cid = calls[0]
        q = None

        def all_media():
            nonlocal q
            q = ng(self.ng, {"command": "query", "call-id": cid})
            if q is None or q.get("result") != "ok":
                return False
            pk = self.tag_packets(q)
            return (len(pk) == 2 and
                    all(v >= PCAP_PACKETS for v in pk.values()))
        try:
            self._wait("media both ways", all_media, SINGLE_CALL_MS / 1000 - 1.5,
                       0.2)
        except RuntimeError:
            pass
        self.assertIsNotNone(q, "no reply to query")
        self.assertEqual(q.get("result"), "ok", q)
        pk = self.tag_packets(q)
        self.assertEqual(len(pk), 2, "query tags: %r" % q.get("tags"))
        for tag, n in pk.items():
            self.assertEqual(n, PCAP_PACKETS,
                             "RTP packets relayd received from %s (query %r)"
                             % (tag, q))
        totals = q.get("totals", {}).get("RTP", {})
        self.assertEqual(totals.get("packets"), 2 * PCAP_PACKETS, q.get("totals"))
        self.assertEqual(totals.get("bytes"), 2 * PCAP_PACKETS * (12 + RTP_PAYLOAD),
                         q.get("totals"))
        # every stream of both parties sits in relayd's window on 127.0.0.1
        for tag, t in q["tags"].items():
            for md in t["medias"]:
                for s in md["streams"]:
                    self.assertEqual(s["local address"], RELAY_IP, s)
                    self.assertTrue(self.port_min <= s["local port"] <= self.port_max, s)

        rc = self.finish("sipp-uac-1", uac, uac_files, SINGLE_CALL_MS / 1000 + 30)
        self.assertEqual(rc, 0, "UAC failed (%d): %s" % (rc, self.sipp_report(uac_files)))
        rc = self.finish("sipp-uas-1", uas, uas_files, 30)
        self.assertEqual(rc, 0, "UAS failed (%d): %s" % (rc, self.sipp_report(uas_files)))
        st = sipp_stats(uac_files["csv"])
        self.assertEqual(st.get("SuccessfulCall(C)"), "1", self.sipp_report(uac_files))
        self.assertEqual(st.get("FailedCall(C)"), "0", self.sipp_report(uac_files))

        # the offer the UAS got points at the relay
        offers = self.offered_ports(uas_files["msg"])
        self.assertEqual(len(offers), 1, offers)
        c_lines, mports = offers[0]
        self.assertTrue(c_lines and all(c == RELAY_IP for c in c_lines), c_lines)
        self.assertEqual(len(mports), 1, mports)
        self.assertTrue(self.port_min <= mports[0] <= self.port_max,
                        "offer m= port %d not in relayd's window %d-%d" %
                        (mports[0], self.port_min, self.port_max))
        self.assertIn(mports[0], [s["local port"] for t in q["tags"].values()
                                  for md in t["medias"] for s in md["streams"]])

        self.assert_kamailio_quiet()
        m = self.assert_clean()
        relayed = (self.metric(m, "rtpsec_packets_relayed_total") or 0) - \
            (self.metric(m0, "rtpsec_packets_relayed_total") or 0)
        self.assertGreaterEqual(relayed, 2 * PCAP_PACKETS)
        sys.stderr.write("\n  single call: completed, %d RTP packets per direction "
                         "relayed (query), %d relayed (metrics), offer port %d, "
                         "%.1fs\n" % (PCAP_PACKETS, relayed, mports[0],
                                      time.monotonic() - t0))

    def test_2_load(self):
        t0 = time.monotonic()
        self.assertEqual(self.ng_list(), [], "calls left over before the load test")
        m0 = self.metrics()
        uas, uas_files = self.uas("sipp-uas-load", LOAD_CALLS)
        time.sleep(0.3)
        uac, uac_files = self.uac("sipp-uac-load", LOAD_CALLS, LOAD_CALLS,
                                  LOAD_RATE, LOAD_CALL_MS)
        # all calls overlap at some point: 100 calls at 50/s, 3 s each
        peak = 0
        deadline = time.monotonic() + LOAD_CALLS / LOAD_RATE + LOAD_CALL_MS / 1000 + 30
        while uac.poll() is None and time.monotonic() < deadline:
            try:
                peak = max(peak, len(self.ng_list()))
            except AssertionError:
                pass
            time.sleep(0.25)
        rc = self.finish("sipp-uac-load", uac, uac_files, 30)
        st = sipp_stats(uac_files["csv"])
        self.assertEqual(rc, 0, "UAC failed (%d): %s" % (rc, self.sipp_report(uac_files)))
        self.assertEqual(st.get("SuccessfulCall(C)"), str(LOAD_CALLS),
                         self.sipp_report(uac_files))
        self.assertEqual(st.get("FailedCall(C)"), "0", self.sipp_report(uac_files))
        rc = self.finish("sipp-uas-load", uas, uas_files, 30)
        self.assertEqual(rc, 0, "UAS failed (%d): %s" % (rc, self.sipp_report(uas_files)))
        ust = sipp_stats(uas_files["csv"])
        self.assertEqual(ust.get("SuccessfulCall(C)"), str(LOAD_CALLS),
                         self.sipp_report(uas_files))

        offers = self.offered_ports(uas_files["msg"])
        self.assertEqual(len(offers), LOAD_CALLS)
        ports = [p for _c, ps in offers for p in ps]
        self.assertTrue(all(self.port_min <= p <= self.port_max for p in ports),
                        "offer ports outside %d-%d: %r" %
                        (self.port_min, self.port_max,
                         [p for p in ports if not self.port_min <= p <= self.port_max]))
        self.assertTrue(all(c == [RELAY_IP] for c, _p in offers),
                        [c for c, _p in offers if c != [RELAY_IP]][:5])

        m = self.assert_clean()

        def delta(fam, **lab):
            return ((self.metric(m, fam, **lab) or 0) -
                    (self.metric(m0, fam, **lab) or 0))
        self.assertEqual(delta("rtpsec_calls_created_total"), LOAD_CALLS)
        self.assertEqual(delta("rtpsec_calls_deleted_total"), LOAD_CALLS)
        self.assertEqual(delta("rtpsec_ng_requests_total", result="error"), 0)
        self.assertEqual(delta("rtpsec_ng_requests_total", command="offer",
                               result="ok"), LOAD_CALLS)
        self.assertEqual(delta("rtpsec_ng_requests_total", command="answer",
                               result="ok"), LOAD_CALLS)
        relayed = delta("rtpsec_packets_relayed_total")
        expected = 2 * LOAD_CALLS * PCAP_PACKETS
        drops = {k: v for k, v in m.items()
                 if k.startswith("rtpsec_packets_dropped_total") and v}
        # loopback under load may lose a packet to a full socket buffer, but
        # the media of every call must have gone through
        self.assertGreaterEqual(relayed, 0.98 * expected,
                                "relayed %d of %d packets; drops %r" %
                                (relayed, expected, drops))
        self.assert_kamailio_quiet()
        sys.stderr.write("\n  load: %s/%d calls completed, peak %d concurrent "
                         "calls in ctld, %d of %d RTP packets relayed, drops %r, "
                         "%.1fs\n" % (st.get("SuccessfulCall(C)"), LOAD_CALLS,
                                      peak, relayed, expected, drops,
                                      time.monotonic() - t0))

    def flow(self, name, uac_sf, uas_sf, flags, min_relayed=0):
        """One call of a scenario pair with X-RTPE-Flags: flags; both sides
        succeed, the call is cleaned up, ctld counted one call created and
        deleted and no ng error.  Returns the sipp <log> lines of both."""
        m0 = self.metrics()
        uas, uas_files = self.uas("sipp-uas-" + name, 1, uas_sf)
        time.sleep(0.3)
        uac, uac_files = self.uac("sipp-uac-" + name, 1, 1, 1, 1000, uac_sf,
                                  "-key", "rtpe_flags", flags)
        # both must succeed; the first to fail ends the flow at once
        sides = {"UAC": ("sipp-uac-" + name, uac, uac_files),
                 "UAS": ("sipp-uas-" + name, uas, uas_files)}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rcs = {k: v[1].poll() for k, v in sides.items()}
            if any(rc not in (None, 0) for rc in rcs.values()) or \
                    all(rc == 0 for rc in rcs.values()):
                break
            time.sleep(0.1)
        for k, (pname, p, files) in sides.items():
            if p.poll() is None:
                self._stop(pname, 5)
            self.procs.pop(pname, None)
        for k, (pname, p, files) in sides.items():
            self.assertEqual(p.returncode, 0, "%s: %s failed (%s): %s" %
                             (name, k, p.returncode, self.sipp_report(files)))
        self.assert_kamailio_quiet()
        m = self.assert_clean()

        def delta(fam, **lab):
            return ((self.metric(m, fam, **lab) or 0) -
                    (self.metric(m0, fam, **lab) or 0))
        self.assertEqual(delta("rtpsec_calls_created_total"), 1, name)
        self.assertEqual(delta("rtpsec_calls_deleted_total"), 1, name)
        self.assertEqual(delta("rtpsec_ng_requests_total", result="error"), 0,
                         "%s: ng errors" % name)
        relayed = delta("rtpsec_packets_relayed_total")
        self.assertGreaterEqual(relayed, min_relayed, name)
        logs = []
        for f in (uac_files["log"], uas_files["log"]):
            with open(f, errors="replace") as fh:
                logs += fh.read().splitlines()
        return logs, relayed

    def test_3_call_flows(self):
        t0 = time.monotonic()
        inwin = lambda p: self.port_min <= p <= self.port_max

        # early media (answer in 183, again in 200), a re-INVITE from the
        # callee (an offer from the other side), the callee hangs up; with
        # via-branch=auto the BYE carries a branch the relay never saw
        logs, relayed = self.flow(
            "early", "uac_early", "uas_early",
            "via-branch=auto trust-address replace-origin "
            "replace-session-connection ICE=remove",
            min_relayed=2 * PCAP_PACKETS)
        ports = {}
        for ln in logs:
            m = re.match(r"(UAC|UAS) \S+ (.*?) ?port (\d+) ", ln)
            if m:
                ports[m.group(1) + " " + m.group(2)] = int(m.group(3))
        self.assertEqual(sorted(ports), ["UAC 183", "UAC 200", "UAC re-INVITE",
                                         "UAS offer", "UAS re-INVITE answer"],
                         logs)
        self.assertTrue(all(inwin(p) for p in ports.values()), ports)
        # the caller's leg keeps its port through both answers and the
        # callee's re-offer, the callee's leg through the re-answer
        self.assertEqual(ports["UAC 183"], ports["UAC 200"], ports)
        self.assertEqual(ports["UAC 200"], ports["UAC re-INVITE"], ports)
        self.assertEqual(ports["UAS offer"], ports["UAS re-INVITE answer"], ports)
        self.assertNotEqual(ports["UAC 200"], ports["UAS offer"], ports)

        # late offer: INVITE without SDP, offer in the 200 (from the callee:
        # the module swaps the tags), answer in the ACK
        logs, late_relayed = self.flow(
            "late", "uac_late", "uas_late",
            "trust-address replace-session-connection",
            min_relayed=2 * PCAP_PACKETS)
        late = {}
        for ln in logs:
            m = re.match(r"(UAC|UAS) \S+ (.*?) ?port (\d+) ", ln)
            if m:
                late[m.group(1) + " " + m.group(2)] = int(m.group(3))
        self.assertEqual(sorted(late), ["UAC 200 offer", "UAS ACK answer"], logs)
        self.assertTrue(all(inwin(p) for p in late.values()), late)
        self.assertNotEqual(late["UAC 200 offer"], late["UAS ACK answer"], late)

        # cancelled while ringing: delete on CANCEL, then in failure_route
        self.flow("cancel", "uac_cancel", "uas_ring",
                  "SIP-source-address replace-origin replace-session-connection")
        # rejected: delete in failure_route on the 486
        self.flow("busy", "uac_reject", "uas_busy", "ICE=force")
        sys.stderr.write("\n  call flows: early media + callee re-INVITE + "
                         "callee BYE (%d packets relayed, ports %r), late offer "
                         "(%d packets relayed), cancel, busy: %.1fs\n"
                         % (relayed, ports, late_relayed, time.monotonic() - t0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
