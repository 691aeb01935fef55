"""
cluster: the integration test harness for rtpsec (Python 3 standard
library only).

    with Cluster({"relayd": {"media_timeout": 3}}) as c:
        c.ng({"command": "ping"})

A Cluster is a private rtpsec installation on loopback: a temporary
run_dir under /tmp, an INI configuration with free ports (ng, HTTP) and a
random 200-port media window in 40000-60000, a private redis-server on a
unix socket in run_dir, and the daemons from $B (default build/) started
with -f CONF.  Daemon stderr goes to run_dir/<daemon>.log.  On exit every
daemon is stopped by PID (SIGTERM, SIGKILL after a timeout); a daemon that
died before that is a test failure, and its log is printed.

Helpers: ng()/ng_raw()/ng_json()/ng_tcp() (the rtpengine ng protocol),
bencode()/bdecode(), mp_pack()/mp_unpack() (msgpack), zmq_send() (the
zmqsend C helper), redis_cmd() (RESP over the unix socket), metrics()
(/metrics parsed), ctl() (rtpsec-ctl), restart(), RtpEndpoint (a UDP
RTP/RTCP test peer), make_sdp()/parse_sdp().

Every wait is bounded; only 127.0.0.0/8 is used.
"""
import http.client
import json
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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
B = os.path.join(ROOT, os.environ.get("B", "build"))
ALL_DAEMONS = ("keyd", "relayd", "ctld", "statsd")


def log(msg):
    sys.stderr.write("  [it] %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- bencode
def bencode(obj, ordered=True):
    """Encodes dict/list/int/str/bytes; dict keys in insertion order
    (as Kamailio sends them) unless ordered=False (sorted)."""
    if isinstance(obj, bool):
        obj = int(obj)
    if isinstance(obj, int):
        return b"i%de" % obj
    if isinstance(obj, str):
        obj = obj.encode()
    if isinstance(obj, (bytes, bytearray)):
        return b"%d:%s" % (len(obj), bytes(obj))
    if isinstance(obj, (list, tuple)):
        return b"l" + b"".join(bencode(x, ordered) for x in obj) + b"e"
    if isinstance(obj, dict):
        items = [((k.encode() if isinstance(k, str) else k), v)
                 for k, v in obj.items()]
        if not ordered:
            items.sort()
        return b"d" + b"".join(bencode(k) + bencode(v, ordered)
                               for k, v in items) + b"e"
    raise TypeError("cannot bencode %r" % type(obj))


def _bdec(data, i):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            if i >= len(data):
                raise ValueError("truncated list")
            v, i = _bdec(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            if i >= len(data):
                raise ValueError("truncated dict")
            k, i = _bdec(data, i)
            v, i = _bdec(data, i)
            out[k] = v
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        s = data[colon + 1:colon + 1 + n]
        if len(s) != n:
            raise ValueError("truncated string")
        try:
            s = s.decode()
        except UnicodeDecodeError:
            pass
        return s, colon + 1 + n
    raise ValueError("bad bencode at offset %d: %r" % (i, data[i:i + 10]))


def bdecode(data):
    v, end = _bdec(data, 0)
    if end != len(data):
        raise ValueError("trailing data after bencode value")
    return v


# ---------------------------------------------------------------- msgpack
def mp_pack(o):
    """A minimal msgpack encoder: None, bool, int, str, bytes, list, dict."""
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 128:
            return bytes([o])
        if o >= 0:
            for fmt, tag in (("B", 0xcc), ("H", 0xcd), ("I", 0xce),
                             ("Q", 0xcf)):
                if o < 1 << (8 * struct.calcsize(fmt)):
                    return bytes([tag]) + struct.pack(">" + fmt, o)
            raise ValueError("int too large")
        if o >= -32:
            return struct.pack("b", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, str):
        b = o.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        if len(b) < 65536:
            return b"\xda" + struct.pack(">H", len(b)) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(o, (bytes, bytearray)):
        b = bytes(o)
        if len(b) < 256:
            return b"\xc4" + bytes([len(b)]) + b
        return b"\xc6" + struct.pack(">I", len(b)) + b
    if isinstance(o, (list, tuple)):
        h = (bytes([0x90 | len(o)]) if len(o) < 16
             else b"\xdc" + struct.pack(">H", len(o)))
        return h + b"".join(mp_pack(x) for x in o)
    if isinstance(o, dict):
        h = (bytes([0x80 | len(o)]) if len(o) < 16
             else b"\xde" + struct.pack(">H", len(o)))
        return h + b"".join(mp_pack(k) + mp_pack(v) for k, v in o.items())
    raise TypeError("cannot msgpack %r" % type(o))


def _mp_unpack(d, i):
    t = d[i]
    i += 1

    def take(n):
        return d[i:i + n], i + n

    if t < 0x80:
        return t, i
    if t >= 0xe0:
        return t - 256, i
    if 0xa0 <= t <= 0xbf:
        n = t & 0x1f
        return d[i:i + n].decode("utf-8", "replace"), i + n
    if 0x90 <= t <= 0x9f:
        return _mp_seq(d, i, t & 0x0f)
    if 0x80 <= t <= 0x8f:
        return _mp_map(d, i, t & 0x0f)
    if t == 0xc0:
        return None, i
    if t == 0xc2:
        return False, i
    if t == 0xc3:
        return True, i
    ints = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
            0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}
    if t in ints:
        n = struct.calcsize(ints[t])
        return struct.unpack(ints[t], d[i:i + n])[0], i + n
    if t in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
        ln = {0xd9: ">B", 0xda: ">H", 0xdb: ">I",
              0xc4: ">B", 0xc5: ">H", 0xc6: ">I"}[t]
        k = struct.calcsize(ln)
        n = struct.unpack(ln, d[i:i + k])[0]
        i += k
        b = d[i:i + n]
        if t in (0xd9, 0xda, 0xdb):
            b = b.decode("utf-8", "replace")
        return b, i + n
    if t in (0xdc, 0xdd):
        ln = ">H" if t == 0xdc else ">I"
        k = struct.calcsize(ln)
        return _mp_seq(d, i + k, struct.unpack(ln, d[i:i + k])[0])
    if t in (0xde, 0xdf):
        ln = ">H" if t == 0xde else ">I"
        k = struct.calcsize(ln)
        return _mp_map(d, i + k, struct.unpack(ln, d[i:i + k])[0])
    raise ValueError("unsupported msgpack type 0x%02x" % t)


def _mp_seq(d, i, n):
    out = []
    for _ in range(n):
        v, i = _mp_unpack(d, i)
        out.append(v)
    return out, i


def _mp_map(d, i, n):
    out = {}
    for _ in range(n):
        k, i = _mp_unpack(d, i)
        v, i = _mp_unpack(d, i)
        out[k] = v
    return out, i


def mp_unpack(d):
    v, i = _mp_unpack(d, 0)
    if i != len(d):
        raise ValueError("trailing msgpack data")
    return v


# ---------------------------------------------------------------- SDP
def make_sdp(addr="127.0.0.2", media=(("audio", 40000, "0 8 101"),),
             session_extra=(), media_extra=None, origin_user="alice",
             version=1, rtcp=None):
    """A small SDP: session c= at addr, one m= per (type, port, fmts) with
    its own extra lines (media_extra[i], a list), CRLF line ends."""
    lines = ["v=0",
             "o=%s 2890844526 %d IN IP4 %s" % (origin_user, version, addr),
             "s=rtpsec-test",
             "c=IN IP4 %s" % addr,
             "t=0 0"]
    lines += list(session_extra)
    for i, (mtype, port, fmts) in enumerate(media):
        lines.append("m=%s %d RTP/AVP %s" % (mtype, port, fmts))
        if media_extra is not None and i < len(media_extra):
            lines += list(media_extra[i])
        if rtcp is not None and rtcp[i] is not None:
            lines.append(rtcp[i])
    return "\r\n".join(lines) + "\r\n"


def parse_sdp(text):
    """{'session': [lines], 'media': [{'m': line, 'port', 'lines': [...]}]}"""
    assert "\r\n" in text, "SDP lines must end in CRLF: %r" % text[:80]
    lines = [l for l in text.split("\r\n") if l != ""]
    out = {"session": [], "media": []}
    for l in lines:
        if l.startswith("m="):
            out["media"].append({"m": l, "port": int(l.split()[1]),
                                 "lines": []})
        elif out["media"]:
            out["media"][-1]["lines"].append(l)
        else:
            out["session"].append(l)
    return out


def sdp_conn(section_lines):
    for l in section_lines:
        if l.startswith("c="):
            return l.split()[-1]
    return None


# ---------------------------------------------------------------- RTP
class RtpEndpoint:
    """A test peer: UDP sockets on an even RTP port and RTP+1 at host."""

    def __init__(self, host="127.0.0.2"):
        self.host = host
        for _ in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, 0))
            port = s.getsockname()[1]
            if port % 2 or port >= 65535:
                s.close()
                continue
            r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                r.bind((host, port + 1))
            except OSError:
                s.close()
                r.close()
                continue
            self.rtp, self.rtcp, self.port = s, r, port
            break
        else:
            raise RuntimeError("no free even port pair on %s" % host)
        self.seq = random.randint(0, 60000)
        self.ts = random.randint(0, 1 << 30)
        self.ssrc = random.randint(1, (1 << 32) - 1)

    def close(self):
        self.rtp.close()
        self.rtcp.close()

    def packet(self, payload_len=160, pt=0, marker=False):
        """An RTP packet with a proper 12-byte header (RFC 3550 5.1)."""
        self.seq = (self.seq + 1) & 0xffff
        self.ts = (self.ts + 160) & 0xffffffff
        hdr = struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt,
                          self.seq, self.ts, self.ssrc)
        return hdr + bytes(random.getrandbits(8) for _ in range(payload_len))

    def rtcp_sr(self):
        """A 28-byte RTCP sender report without report blocks."""
        return struct.pack(">BBHIIIIII", 0x80, 200, 6, self.ssrc,
                           0, 0, self.ts, 0, 0)

    def send_rtp(self, dest, n=1, payload_len=160):
        sent = []
        for _ in range(n):
            p = self.packet(payload_len)
            self.rtp.sendto(p, dest)
            sent.append(p)
        return sent

    def send_rtcp(self, dest):
        p = self.rtcp_sr()
        self.rtcp.sendto(p, dest)
        return p

    @staticmethod
    def recv_from(sock, n, timeout=2.0):
        """Up to n datagrams as (data, addr), waiting at most timeout."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                out.append(sock.recvfrom(65535))
            except socket.timeout:
                break
        return out

    def recv_rtp(self, n, timeout=2.0):
        return self.recv_from(self.rtp, n, timeout)

    def recv_rtcp(self, n, timeout=2.0):
        return self.recv_from(self.rtcp, n, timeout)

    def drain(self):
        for s in (self.rtp, self.rtcp):
            s.setblocking(False)
            try:
                while True:
                    s.recvfrom(65535)
            except (BlockingIOError, OSError):
                pass
            s.setblocking(True)


def pids_with(text):
    """PIDs of processes whose command line contains text."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmd:
            out.append(int(d))
    return out


def udp_port_bound(port, addr="127.0.0.1"):
    """True if some socket is bound to addr:port (UDP), per /proc/net/udp."""
    want = "%s:%04X" % ("".join("%02X" % int(x)
                                for x in reversed(addr.split("."))), port)
    anyaddr = "00000000:%04X" % port
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            local = line.split()[1]
            if local in (want, anyaddr):
                return True
    return False


# ---------------------------------------------------------------- ports
def _free_port(kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM)):
    """A loopback port that is free for every socket type in kinds."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, kinds[0])
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        ok = True
        others = []
        for k in kinds[1:]:
            o = socket.socket(socket.AF_INET, k)
            try:
                o.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            others.append(o)
        s.close()
        for o in others:
            o.close()
        if ok:
            return port
    raise RuntimeError("no free port")


def _media_window(width=200):
    """A random even-aligned window in 40000-60000 whose ports are free."""
    for _ in range(50):
        lo = random.randrange(40000, 60000 - width, 2)
        socks = []
        try:
            for p in range(lo, lo + width):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return lo, lo + width - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free media port window")


# ---------------------------------------------------------------- Redis
class Resp:
    """A tiny RESP2 client on a unix socket."""

    def __init__(self, path, timeout=2.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def close(self):
        self.s.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("redis: bad reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self._reply()


# ---------------------------------------------------------------- metrics
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """Parsed Prometheus text: samples as (name, {labels}, value)."""

    def __init__(self, text):
        self.text = text
        self.samples = []
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, typ = line.split(None, 3)
                self.types[name] = typ
                continue
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if m is None:
                raise ValueError("bad metrics line: %r" % line)
            labels = dict(_LABEL.findall(m.group(3) or ""))
            self.samples.append((m.group(1), labels, float(m.group(4))))

    def get(self, name, default=None, **labels):
        """The sum of the samples of name whose labels include labels;
        default if there is none."""
        vals = [v for n, l, v in self.samples if n == name and
                all(l.get(k) == str(x) for k, x in labels.items())]
        return sum(vals) if vals else default

    def __contains__(self, name):
        return any(n == name for n, _, _ in self.samples)


# ---------------------------------------------------------------- cluster
class DaemonDied(AssertionError):
    pass


class Cluster:
    def __init__(self, config_overrides=None, daemons=ALL_DAEMONS,
                 stats_interval_ms=200):
        self.daemons = tuple(daemons)
        self.overrides = config_overrides or {}
        self.stats_interval_ms = stats_interval_ms
        self.procs = {}
        self.redis = None
        self.run_dir = None
        self._resp = None
        self._ng_sock = None
        self._cookie_seq = 0
        self._cookie_prefix = "%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
        self.asan = "asan" in os.path.basename(B)

    # ---- configuration
    def _write_config(self):
        self.ng_port = _free_port()
        self.http_port = _free_port((socket.SOCK_STREAM,))
        self.port_min, self.port_max = _media_window()
        conf = {
            "common": {
                "run_dir": self.run_dir,
                "node_id": "it-node",
                "redis": "unix:redis.sock",
                "stats_interval_ms": self.stats_interval_ms,
            },
            "relayd": {
                "interface": "127.0.0.1",
                "port_min": self.port_min,
                "port_max": self.port_max,
                "workers": 2,
                "media_timeout": 60,
            },
            "ctld": {
                "ng_listen": "127.0.0.1:%d" % self.ng_port,
                "delete_delay": 0,
            },
            "statsd": {
                "http_listen": "127.0.0.1:%d" % self.http_port,
                "down_after_ms": 3000,
            },
        }
        if self.asan:
            # ASan/UBSan need /proc and syscalls the allow-list lacks
            conf["common"]["seccomp"] = "no"
            conf["common"]["chroot"] = "no"
        for sec, opts in self.overrides.items():
            conf.setdefault(sec, {}).update(opts)
        self.config = conf
        self.conf = os.path.join(self.run_dir, "rtpsec.conf")
        with open(self.conf, "w") as f:
            for sec, opts in conf.items():
                f.write("[%s]\n" % sec)
                for k, v in opts.items():
                    if isinstance(v, bool):
                        v = "yes" if v else "no"
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")

    # ---- lifecycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop(check=False)
            self.dump_logs()
            raise
        return self

    def __exit__(self, et, ev, tb):
        failed = et is not None
        try:
            self.stop(check=not failed)
        except DaemonDied:
            self.dump_logs()
            self.cleanup(keep=True)
            raise
        if failed:
            self.dump_logs()
        self.cleanup(keep=failed)
        return False

    def start(self):
        self.run_dir = tempfile.mkdtemp(prefix="rtpsec-it.", dir="/tmp")
        os.chmod(self.run_dir, 0o750)
        self._write_config()
        log("run_dir %s ng %d http %d media %d-%d" % (
            self.run_dir, self.ng_port, self.http_port, self.port_min,
            self.port_max))
        self._start_redis()
        for d in self.daemons:
            self._start_daemon(d)
        for d in self.daemons:
            self.wait_ready(d)

    def _start_redis(self):
        sock = os.path.join(self.run_dir, "redis.sock")
        self.redis_sock = sock
        self.redis_log = open(os.path.join(self.run_dir, "redis.log"), "ab")
        self.redis = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", sock,
             "--unixsocketperm", "777", "--save", "", "--appendonly", "no",
             "--dir", self.run_dir, "--loglevel", "warning"],
            stdout=self.redis_log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(sock):
                try:
                    if self.redis_cmd("PING") == "PONG":
                        return
                except OSError:
                    pass
            if self.redis.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def _start_daemon(self, d):
        path = os.path.join(B, d)
        if not os.access(path, os.X_OK):
            raise unittest.SkipTest("%s is not built" % path)
        logf = open(os.path.join(self.run_dir, d + ".log"), "ab")
        env = dict(os.environ)
        if self.asan:
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        p = subprocess.Popen([path, "-f", self.conf], stdout=logf,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        logf.close()
        self.procs[d] = p

    def wait_ready(self, d, timeout=15):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            p = self.procs[d]
            if p.poll() is not None:
                self.dump_logs([d])
                raise DaemonDied("%s exited with %s during start-up" %
                                 (d, p.returncode))
            try:
                if d == "ctld":
                    r = self.ng({"command": "ping"}, timeout=0.5)
                    if r.get("result") == "pong":
                        return
                elif d == "statsd":
                    # ready when it serves, and has heard from every
                    # daemon of the cluster (PUB/SUB joins take a moment)
                    st, _ = self.http_get("/metrics", timeout=0.5)
                    others = {"relayd", "ctld", "keyd"} & set(self.daemons)
                    if st == 200 and others == {"relayd", "ctld", "keyd"}:
                        st, _ = self.http_get("/health", timeout=0.5)
                    if st == 200:
                        return
                else:
                    rep = self.zmq_request(d, {"v": 1, "op": "ping",
                                               "id": 7}, timeout_ms=500)
                    if rep is not None and rep.get("ok") is True:
                        return
            except (OSError, ValueError, RuntimeError) as e:
                last = e
            time.sleep(0.1)
        self.dump_logs([d])
        raise RuntimeError("%s not ready after %ds (%s)" % (d, timeout, last))

    def alive(self, d):
        return self.procs[d].poll() is None

    def check_alive(self):
        """Raises DaemonDied if a daemon (or redis) has exited."""
        dead = ["%s (exit %s)" % (d, p.returncode)
                for d, p in self.procs.items() if p.poll() is not None]
        if self.redis is not None and self.redis.poll() is not None:
            dead.append("redis-server")
        if dead:
            self.dump_logs()
            raise DaemonDied("daemon(s) died: " + ", ".join(dead))

    def _stop_proc(self, p, timeout=5):
        if p.poll() is not None:
            return p.returncode
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            return None

    def stop(self, check=True):
        dead = []
        if check:
            dead = ["%s (exit %s)" % (d, p.returncode)
                    for d, p in self.procs.items() if p.poll() is not None]
        bad_exit = []
        for d in ("statsd", "ctld", "relayd", "keyd"):
            if d in self.procs:
                was_alive = self.procs[d].poll() is None
                rc = self._stop_proc(self.procs[d])
                if was_alive and rc != 0:
                    bad_exit.append("%s (exit %s after SIGTERM)" % (d, rc))
        if self._ng_sock is not None:
            self._ng_sock.close()
            self._ng_sock = None
        if self._resp is not None:
            self._resp.close()
            self._resp = None
        if self.redis is not None:
            self._stop_proc(self.redis)
            self.redis_log.close()
        if check and (dead or bad_exit):
            raise DaemonDied("daemon(s) died: " + ", ".join(dead + bad_exit))

    def cleanup(self, keep=False):
        if self.run_dir is None:
            return
        if keep or os.environ.get("RTPSEC_KEEP"):
            log("keeping %s" % self.run_dir)
            return
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def stop_redis(self):
        self._stop_proc(self.redis)
        self.redis_log.close()
        if self._resp is not None:
            self._resp.close()
            self._resp = None
        if os.path.exists(self.redis_sock):
            os.unlink(self.redis_sock)

    def start_redis(self):
        self._start_redis()

    def restart(self, d):
        self._stop_proc(self.procs[d])
        self._start_daemon(d)
        self.wait_ready(d)

    def log_text(self, d):
        try:
            with open(os.path.join(self.run_dir, d + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def dump_logs(self, which=None, tail=60):
        if self.run_dir is None:
            return
        for d in which or list(self.procs) + ["redis"]:
            lines = self.log_text(d).splitlines()
            sys.stderr.write("----- %s.log (last %d of %d lines) -----\n" %
                             (d, min(tail, len(lines)), len(lines)))
            sys.stderr.write("\n".join(lines[-tail:]) + "\n")
        sys.stderr.flush()

    # ---- ng
    def cookie(self):
        self._cookie_seq += 1
        return "%s_%d" % (self._cookie_prefix, self._cookie_seq)

    def ng_raw(self, payload, timeout=3.0, expect_reply=True):
        """Sends raw bytes to the ng UDP port; returns the reply bytes or
        None (no reply within timeout)."""
        if self._ng_sock is None:
            self._ng_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._ng_sock.bind(("127.0.0.1", 0))
        s = self._ng_sock
        # drop stale replies of earlier timed-out requests
        s.setblocking(False)
        try:
            while True:
                s.recvfrom(70000)
        except (BlockingIOError, OSError):
            pass
        s.setblocking(True)
        s.sendto(payload, ("127.0.0.1", self.ng_port))
        if not expect_reply:
            return None
        s.settimeout(timeout)
        try:
            data, _ = s.recvfrom(70000)
            return data
        except socket.timeout:
            return None

    def ng(self, d, cookie=None, timeout=3.0):
        """One ng command over UDP (bencode); returns the reply dict."""
        cookie = cookie or self.cookie()
        reply = self.ng_raw(cookie.encode() + b" " + bencode(d), timeout)
        if reply is None:
            raise RuntimeError("no ng reply to %r" % d.get("command"))
        rc, _, body = reply.partition(b" ")
        if rc != cookie.encode():
            raise RuntimeError("cookie mismatch %r != %r" % (rc, cookie))
        return bdecode(body)

    def ng_json(self, d, cookie=None, timeout=3.0):
        cookie = cookie or self.cookie()
        reply = self.ng_raw(cookie.encode() + b" " +
                            json.dumps(d).encode(), timeout)
        if reply is None:
            raise RuntimeError("no ng reply to %r" % d.get("command"))
        rc, _, body = reply.partition(b" ")
        if rc != cookie.encode():
            raise RuntimeError("cookie mismatch %r != %r" % (rc, cookie))
        assert body[:1] == b"{", "JSON request got a non-JSON reply %r" % body
        return json.loads(body)

    def ng_tcp_conn(self, timeout=3.0):
        s = socket.create_connection(("127.0.0.1", self.ng_port), timeout)
        s.settimeout(timeout)
        return s

    @staticmethod
    def ng_tcp_read(s, cookie):
        """Reads one bencoded reply for cookie from a TCP stream."""
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                raise ConnectionError("ng TCP connection closed")
            buf += d
            rc, sp, body = buf.partition(b" ")
            if not sp:
                continue
            try:
                v, end = _bdec(body, 0)
            except (ValueError, IndexError):
                continue
            assert rc == cookie.encode(), (rc, cookie)
            return v, body[end:]

    def ng_tcp(self, d, cookie=None, timeout=3.0):
        cookie = cookie or self.cookie()
        with self.ng_tcp_conn(timeout) as s:
            s.sendall(cookie.encode() + b" " + bencode(d))
            v, rest = self.ng_tcp_read(s, cookie)
            assert rest == b"", rest
            return v

    # ---- ZeroMQ
    def zmqsend_path(self):
        exe = os.path.join(B, "tests", "zmqsend")
        src = os.path.join(ROOT, "tests", "integration", "zmqsend.c")
        if (not os.path.exists(exe) or
                os.path.getmtime(exe) < os.path.getmtime(src)):
            os.makedirs(os.path.dirname(exe), exist_ok=True)
            flags = subprocess.run(
                ["pkg-config", "--cflags", "--libs", "libzmq"],
                capture_output=True, text=True, check=True).stdout.split()
            subprocess.run(["cc", "-O1", "-Wall", "-o", exe, src] + flags,
                           check=True)
        return exe

    def endpoint(self, d):
        ep = self.config["common"].get("%s_ctl" % d, "ipc://%s.sock" % d)
        if ep.startswith("ipc://") and not ep[6:].startswith("/"):
            ep = "ipc://%s/%s" % (self.run_dir, ep[6:])
        return ep

    def zmq_send(self, d, frames, timeout_ms=1000):
        """Sends a message of frames (bytes) to d's ROUTER from a DEALER;
        returns the reply frames, or None when there was no reply."""
        r = subprocess.run([self.zmqsend_path(), self.endpoint(d),
                            str(timeout_ms)],
                           input="".join(f.hex() + "\n" for f in frames),
                           capture_output=True, text=True,
                           timeout=timeout_ms / 1000 + 10)
        if r.returncode == 1:
            return None
        if r.returncode != 0:
            raise RuntimeError("zmqsend: %s" % r.stderr)
        return [bytes.fromhex(l) for l in r.stdout.splitlines()]

    def zmq_publish(self, endpoint, messages, wait_ms=700):
        """Plays a daemon's PUB socket: binds endpoint (an ipc:// name
        relative to run_dir, e.g. "keyd-pub.sock"), waits wait_ms for
        subscribers, publishes messages (each a list of frames) and
        waits again."""
        ep = "ipc://%s/%s" % (self.run_dir, endpoint)
        lines = "".join(",".join(f.hex() for f in m) + "\n"
                        for m in messages)
        r = subprocess.run([self.zmqsend_path(), "-p", ep, str(wait_ms)],
                           input=lines, capture_output=True, text=True,
                           timeout=wait_ms / 500 + 30)
        if r.returncode != 0:
            raise RuntimeError("zmqsend -p: %s" % r.stderr)

    def zmq_request_many(self, d, msgs, timeout_ms=1000):
        """msgpack request maps sent together (before any reply is read);
        returns the decoded replies in the order of msgs (None for one
        that did not come)."""
        r = subprocess.run([self.zmqsend_path(), "-m", self.endpoint(d),
                            str(timeout_ms)],
                           input="".join(mp_pack(m).hex() + "\n"
                                         for m in msgs),
                           capture_output=True, text=True,
                           timeout=timeout_ms / 1000 + 10)
        if r.returncode not in (0, 1):
            raise RuntimeError("zmqsend -m: %s" % r.stderr)
        reps = [mp_unpack(bytes.fromhex(l)) for l in r.stdout.splitlines()]
        by_id = {rep.get("id"): rep for rep in reps}
        return [by_id.get(m["id"]) for m in msgs]

    def zmq_request(self, d, msg, timeout_ms=1000):
        """A msgpack request map; returns the decoded reply map or None."""
        rep = self.zmq_send(d, [mp_pack(msg)], timeout_ms)
        if rep is None:
            return None
        assert len(rep) == 1, rep
        return mp_unpack(rep[0])

    # ---- Redis
    def redis_cmd(self, *args):
        if self._resp is None:
            self._resp = Resp(self.redis_sock)
        try:
            return self._resp.cmd(*args)
        except (OSError, ConnectionError):
            self._resp.close()
            self._resp = None
            raise

    # ---- HTTP / metrics
    def http_get(self, path, timeout=3.0):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                       timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def metrics(self):
        st, body = self.http_get("/metrics")
        if st != 200:
            raise RuntimeError("/metrics answered %d" % st)
        return Metrics(body)

    def wait_metric(self, name, pred, timeout=8.0, **labels):
        """Polls /metrics until pred(value) holds; returns the value."""
        deadline = time.monotonic() + timeout
        v = None
        while time.monotonic() < deadline:
            v = self.metrics().get(name, **labels)
            if v is not None and pred(v):
                return v
            time.sleep(0.1)
        raise AssertionError("metric %s%r stayed at %r" % (name, labels, v))

    def settled_metric(self, name, default=0, settle=0.7, timeout=8.0,
                       **labels):
        """The value of a metric once it has not changed for settle
        seconds (statsd lags the daemons by up to stats_interval_ms)."""
        deadline = time.monotonic() + timeout
        v = self.metrics().get(name, default, **labels)
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            n = self.metrics().get(name, default, **labels)
            if n != v:
                v, since = n, time.monotonic()
            elif time.monotonic() - since >= settle:
                return v
        raise AssertionError("metric %s%r does not settle" % (name, labels))

    # ---- rtpsec-ctl
    def ctl(self, *args, timeout=10):
        return subprocess.run([os.path.join(B, "rtpsec-ctl"), "-f",
                               self.conf] + list(args),
                              capture_output=True, text=True,
                              timeout=timeout)


def wait_until(pred, timeout=5.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s" %
                         (timeout, what))


class ClusterTestCase(unittest.TestCase):
    """One Cluster per test class; each test checks afterwards that every
    daemon is still alive, and a failing test prints the daemons' logs."""
    overrides = {}
    daemons = ALL_DAEMONS
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(cls.overrides, cls.daemons)
        cls.cluster.__enter__()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.__exit__(None, None, None)
            cls.cluster = None

    def tearDown(self):
        self.cluster.check_alive()

    def run(self, result=None):
        before = (len(result.failures) + len(result.errors)) if result else 0
        out = super().run(result)
        if result is not None and \
                len(result.failures) + len(result.errors) > before and \
                self.cluster is not None:
            self.cluster.dump_logs(tail=40)
        return out
