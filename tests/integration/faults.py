"""
faults: shared helpers of the fault tests (test_fault_*.py, issue 5):
kill a daemon by PID with calls in progress and measure what the calls
lost (Python 3 standard library, plus the mediaprobe C helper).

  SupCluster       rtpsec under supervisord (tools/run.sh with its own
                   configuration, as test_supervisord.py runs it): PIDs of
                   the programs, kill(prog) (SIGKILL by PID, waits for the
                   new PID and for the new process to answer), ng, the
                   daemons' ROUTERs (zmqsend), Redis.
  setup_call()     a call over ng (plain, or SDES on either or both legs)
                   with endpoints of its own; returns mediaprobe's stream
                   specs for it (the relay's ports and the keys).
  MediaProbe       runs tests/integration/mediaprobe.c over those streams;
                   results() its per-stream JSON.
  analyse()        per kill: media gap, packets lost, calls lost, SRTP
                   authentication failures; fault_line() prints it as
                   `FAULT <daemon> kill=i ...`.
  Kamailio         Kamailio (tests/integration/kamailio/kamailio.cfg) in
                   front of ctld and a sipp UAC/UAS pair whose media
                   mediaprobe plays (sipp's own pcap play cannot be
                   measured).

FAULT_KILLS (environment, default 5) is how many times each test kills its
daemon; `make soak` sets 20.  Every wait is bounded, only 127.0.0.0/8 is
used, and everything is stopped by PID.
"""
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from cluster import (B, ROOT, Cluster, Resp, _free_port, _media_window,
                     bdecode, bencode, log, make_sdp, mp_pack, mp_unpack,
                     parse_sdp, sdp_conn,
                     pids_with)

FAULT_KILLS = int(os.environ.get("FAULT_KILLS", "5"))
MEDIAPROBE = os.path.join(B, "tests", "mediaprobe")
SUITE = "AES_CM_128_HMAC_SHA1_80"
PROGRAMS = ("relayd", "keyd", "ctld", "statsd")
# mediaprobe lists every interval without reception longer than this
# (20 ms packets: two and a half missing)
GAP_MS = 50


def fault_kills():
    return max(1, FAULT_KILLS)


# ---------------------------------------------------------------- processes
def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def wait_for(pred, timeout, step=0.02):
    """pred()'s first true value within timeout seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


# ---------------------------------------------------------------- ports
_taken = set()


def endpoint_port(host, lo=20000, hi=30000):
    """An even port p with p and p+1 free on host, outside the relay
    windows (40000-60000) and the ephemeral range, not handed out before."""
    for _ in range(500):
        p = random.randrange(lo, hi - 2) & ~1
        if p in _taken or p + 1 in _taken:
            continue
        ok = True
        for q in (p, p + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((host, q))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            _taken.update((p, p + 1))
            return p
    raise RuntimeError("no free endpoint port on %s" % host)


# ---------------------------------------------------------------- helpers
def zmqsend_path():
    return Cluster.zmqsend_path(None)


def mediaprobe_path():
    """Builds mediaprobe like run.sh builds srtpcat when make did not."""
    src = os.path.join(ROOT, "tests", "integration", "mediaprobe.c")
    if (os.path.exists(MEDIAPROBE) and
            os.path.getmtime(MEDIAPROBE) >= os.path.getmtime(src)):
        return MEDIAPROBE
    os.makedirs(os.path.dirname(MEDIAPROBE), exist_ok=True)
    lib = os.path.join(B, "libsrtp", "lib", "libsrtp2.a")
    if os.path.exists(lib):
        flags = ["-I" + os.path.join(B, "libsrtp", "include"), lib,
                 "-lssl", "-lcrypto"]
    else:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "libsrtp2"], capture_output=True, text=True,
                               check=True).stdout.split() + ["-lcrypto"]
    subprocess.run(["cc", "-O1", "-Wall", "-o", MEDIAPROBE, src] + flags,
                   check=True)
    return MEDIAPROBE


class NgClient:
    """ng over UDP; replies to earlier cookies are skipped, and a request
    that gets no reply is retransmitted with the same cookie (as Kamailio
    does), so one command is executed at most once."""

    def __init__(self, port):
        self.port = port
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.n = 0
        self.prefix = "f%d_%d" % (os.getpid(), random.getrandbits(24))

    def close(self):
        self.s.close()

    def cmd(self, d, timeout=3.0, retrans=0.5):
        """d's reply dict, or None."""
        self.n += 1
        cookie = ("%s_%d" % (self.prefix, self.n)).encode()
        data = cookie + b" " + bencode(d)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.s.sendto(data, ("127.0.0.1", self.port))
            until = min(deadline, time.monotonic() + retrans)
            while time.monotonic() < until:
                self.s.settimeout(max(until - time.monotonic(), 0.001))
                try:
                    r, _ = self.s.recvfrom(262144)
                except socket.timeout:
                    break
                if r.startswith(cookie + b" "):
                    return bdecode(r[len(cookie) + 1:])
        return None

    def pong(self, timeout=0.3):
        r = self.cmd({"command": "ping"}, timeout=timeout, retrans=timeout)
        return r is not None and r.get("result") == "pong"


class ZmqClient:
    """msgpack requests to a daemon's ROUTER through zmqsend."""

    def __init__(self):
        self.n = 1000

    def request(self, endpoint, op, timeout_ms=1000, **fields):
        self.n += 1
        msg = dict({"v": 1, "op": op, "id": self.n}, **fields)
        r = subprocess.run([zmqsend_path(), endpoint, str(timeout_ms)],
                           input=mp_pack(msg).hex() + "\n",
                           capture_output=True, text=True,
                           timeout=timeout_ms / 1000 + 10)
        if r.returncode != 0 or not r.stdout.strip():
            return None
        return mp_unpack(bytes.fromhex(r.stdout.split()[0]))


# ---------------------------------------------------------------- cluster
class SupCluster:
    """rtpsec under supervisord: tools/run.sh with a configuration of its
    own (run_dir, ports from cluster.py's helpers; chroot and seccomp off
    for sanitizer builds, as cluster.py does)."""

    def __init__(self, extra=None, port_width=400):
        self.extra = extra or {}
        self.port_width = port_width
        self.run = None
        self.zmq = ZmqClient()
        self._resp = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, et, ev, tb):
        self.stop(keep=et is not None)
        return False

    def start(self):
        if shutil.which("supervisord") is None:
            raise RuntimeError("supervisord is not installed "
                               "(tools/deps.sh test)")
        self.dir = tempfile.mkdtemp(prefix="rtpsec-fault.")
        os.chmod(self.dir, 0o755)
        self.run_dir = os.path.join(self.dir, "run")
        os.mkdir(self.run_dir)
        self.ng_port = _free_port()
        self.http_port = _free_port((socket.SOCK_STREAM,))
        self.port_min, self.port_max = _media_window(self.port_width)
        conf = {
            "common": {"run_dir": self.run_dir, "node_id": "it-node",
                       "stats_interval_ms": 200},
            "relayd": {"interface": "127.0.0.1", "port_min": self.port_min,
                       "port_max": self.port_max, "media_timeout": 60},
            "ctld": {"ng_listen": "127.0.0.1:%d" % self.ng_port,
                     "delete_delay": 0},
            "statsd": {"http_listen": "127.0.0.1:%d" % self.http_port},
        }
        if "asan" in os.path.basename(B):
            conf["common"]["chroot"] = "no"
            conf["common"]["seccomp"] = "no"
        for sec, opts in self.extra.items():
            conf.setdefault(sec, {}).update(opts)
        self.config = conf
        self.conf = os.path.join(self.dir, "rtpsec.conf")
        with open(self.conf, "w") as f:
            for sec, opts in conf.items():
                f.write("[%s]\n" % sec)
                for k, v in opts.items():
                    f.write("%s = %s\n" % (k, v))
        self.logf = open(os.path.join(self.dir, "run.log"), "w")
        env = dict(os.environ, B=B, RTPSEC_CONF=self.conf)
        if "asan" in os.path.basename(B):
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        self.run = subprocess.Popen([os.path.join(ROOT, "tools", "run.sh")],
                                    env=env, stdout=self.logf,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.ngc = NgClient(self.ng_port)
        log("supervisord cluster: dir %s ng %d media %d-%d" %
            (self.dir, self.ng_port, self.port_min, self.port_max))
        if not wait_for(self.ngc.pong, 30, 0.1):
            raise RuntimeError("cluster did not come up:\n" + self.log_tail())
        for prog in PROGRAMS + ("redis",):
            if not wait_for(lambda: self.pid_of(prog), 15, 0.1):
                raise RuntimeError("%s not running:\n%s" %
                                   (prog, self.log_tail()))
        for d in ("relayd", "keyd"):
            if not wait_for(lambda: self.ping(d), 15, 0.1):
                raise RuntimeError("%s does not answer:\n%s" %
                                   (d, self.log_tail()))

    def stop(self, keep=False):
        if self.run is not None and self.run.poll() is None:
            self.run.send_signal(signal.SIGTERM)
            try:
                self.run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.run.pid, signal.SIGKILL)
                self.run.wait(timeout=10)
        if getattr(self, "conf", None):
            # what supervisord left behind, ours by its command line
            sock = os.path.join(self.run_dir, "redis.sock")
            for p in set(pids_with(self.conf) +
                         pids_with("unixsocket:" + sock) +
                         pids_with("unixsocket " + sock)):
                kill_pid(p)
        if self._resp is not None:
            self._resp.close()
            self._resp = None
        if getattr(self, "ngc", None):
            self.ngc.close()
            self.ngc = None
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None
        if getattr(self, "dir", None):
            if keep or os.environ.get("RTPSEC_KEEP"):
                log("keeping %s" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=6000):
        try:
            with open(os.path.join(self.dir, "run.log"),
                      errors="replace") as f:
                return f.read()[-n:]
        except OSError as e:
            return "(%s)" % e

    def log_text(self):
        return self.log_tail(10 ** 9)

    # ---- processes
    def pid_of(self, prog):
        if prog == "redis":
            # redis-server retitles itself "... unixsocket:PATH"
            sock = os.path.join(self.run_dir, "redis.sock")
            ps = sorted(set(pids_with("unixsocket:" + sock) +
                            pids_with("unixsocket " + sock)))
        else:
            ps = pids_with("%s -f %s" % (prog, self.conf))
        return ps[0] if len(ps) == 1 else None

    def ready(self, prog):
        # short deadlines: restart_ms is measured with these polls
        if prog == "ctld":
            return self.ngc.pong(timeout=0.1)
        if prog in ("relayd", "keyd"):
            return self.ping(prog, timeout_ms=100)
        return True

    def kill(self, prog, ready_timeout=10):
        """SIGKILL to prog's PID; waits for supervisord's new PID and for
        it to answer.  Returns (old pid, new pid, ms from the kill until the
        new process answered)."""
        old = self.pid_of(prog)
        if old is None:
            raise AssertionError("%s is not running:\n%s" %
                                 (prog, self.log_tail()))
        t0 = time.monotonic()
        kill_pid(old)
        new = wait_for(lambda: (self.pid_of(prog) not in (None, old) and
                                self.pid_of(prog)), ready_timeout, 0.005)
        if new is None:
            raise AssertionError("%s was not restarted within %ds:\n%s" %
                                 (prog, ready_timeout, self.log_tail()))
        if not wait_for(lambda: self.ready(prog), ready_timeout, 0.01):
            raise AssertionError("%s (pid %d) does not answer:\n%s" %
                                 (prog, new, self.log_tail()))
        return old, new, (time.monotonic() - t0) * 1000

    # ---- IPC
    def endpoint(self, d):
        return "ipc://%s/%s.sock" % (self.run_dir, d)

    def request(self, d, op, timeout_ms=1000, **fields):
        return self.zmq.request(self.endpoint(d), op, timeout_ms, **fields)

    def ping(self, d, timeout_ms=300):
        r = self.request(d, "ping", timeout_ms=timeout_ms)
        return r is not None and r.get("ok") is True

    def relay_calls(self):
        r = self.request("relayd", "call_list", timeout_ms=2000)
        return None if r is None or not r.get("ok") else set(r["calls"])

    def ng_calls(self):
        r = self.ngc.cmd({"command": "list", "limit": 10000})
        return None if r is None or r.get("result") != "ok" \
            else set(r["calls"])

    def redis_cmd(self, *args):
        if self._resp is None:
            self._resp = Resp(os.path.join(self.run_dir, "redis.sock"))
        try:
            return self._resp.cmd(*args)
        except (OSError, ConnectionError):
            self._resp.close()
            self._resp = None
            raise


# ---------------------------------------------------------------- calls
def b64key(n=30):
    return base64.b64encode(os.urandom(n)).decode()


def cryptos(media):
    return [l[len("a=crypto:"):] for l in media["lines"]
            if l.startswith("a=crypto:")]


def pick_crypto(media, suite=SUITE):
    """(tag, key) of our offered line with suite."""
    for l in cryptos(media):
        f = l.split()
        if f[1] == suite:
            return int(f[0]), f[2][len("inline:"):].split("|")[0]
    raise AssertionError("no %s line in %r" % (suite, cryptos(media)))


def srtp_sdp(addr, port, crypto, user):
    sdp = make_sdp(addr, [("audio", port, "0")],
                   media_extra=[["a=crypto:" + c for c in crypto]],
                   origin_user=user)
    return sdp.replace(" RTP/AVP ", " RTP/SAVP ")


def stream(sid, laddr, lport, daddr, dport, tx=None, rx=None, ssrc=None,
           seq=None):
    return {"id": sid, "laddr": laddr, "lport": lport, "daddr": daddr,
            "dport": dport, "tx": tx, "rx": rx,
            "ssrc": ssrc if ssrc is not None else random.getrandbits(32) or 1,
            "seq": seq if seq is not None else random.randrange(0, 30000)}


def spec_line(s):
    def keys(k):
        return "%s %s" % k if k else "- -"
    dst = "-" if s["dport"] is None else "%s:%d" % (s["daddr"], s["dport"])
    return "%s %s:%d %s %s %s %d %d\n" % (
        s["id"], s["laddr"], s["lport"], dst, keys(s["tx"]), keys(s["rx"]),
        s["ssrc"], s["seq"])


def ok(r):
    return r is not None and r.get("result") == "ok"


def setup_call(ngc, cid, kind="plain", a_host="127.0.0.2",
               b_host="127.0.0.3", seq_a=None, seq_b=None, timeout=3.0):
    """A call over ng between two endpoints of its own (a calls b):
    kind "plain" (RTP/AVP both legs), "sdes" (a plain, b SDES-SRTP: offer
    with transport-protocol RTP/SAVP), "sdes_caller" (a SDES, b plain) or
    "sdes_both" (independent keys on both legs).  Returns the two
    mediaprobe streams (ids cid+"/a", cid+"/b"), or raises with the ng
    reply that failed."""
    pa, pb = endpoint_port(a_host), endpoint_port(b_host)
    akey, bkey = b64key(), b64key()
    offer = {"command": "offer", "call-id": cid, "from-tag": "ta"}
    if kind in ("plain", "sdes"):
        offer["sdp"] = make_sdp(a_host, [("audio", pa, "0")])
        if kind == "sdes":
            offer["transport-protocol"] = "RTP/SAVP"
    else:
        offer["sdp"] = srtp_sdp(a_host, pa, ["1 %s inline:%s" %
                                             (SUITE, akey)], "alice")
        if kind == "sdes_caller":
            offer["transport-protocol"] = "RTP/AVP"
    r = ngc.cmd(offer, timeout=timeout)
    if not ok(r):
        raise AssertionError("offer %s (%s): %r" % (cid, kind, r))
    om = parse_sdp(r["sdp"])["media"][0]
    relay_b = (sdp_conn(om["lines"]) or
               sdp_conn(parse_sdp(r["sdp"])["session"]), om["port"])
    answer = {"command": "answer", "call-id": cid, "from-tag": "ta",
              "to-tag": "tb"}
    to_b_key = None
    if kind in ("sdes", "sdes_both"):
        tag, to_b_key = pick_crypto(om)
        answer["sdp"] = srtp_sdp(b_host, pb, ["%d %s inline:%s" %
                                              (tag, SUITE, bkey)], "bob")
    else:
        answer["sdp"] = make_sdp(b_host, [("audio", pb, "0")],
                                 origin_user="bob")
    r = ngc.cmd(answer, timeout=timeout)
    if not ok(r):
        raise AssertionError("answer %s (%s): %r" % (cid, kind, r))
    am = parse_sdp(r["sdp"])["media"][0]
    relay_a = (sdp_conn(am["lines"]) or
               sdp_conn(parse_sdp(r["sdp"])["session"]), am["port"])
    to_a_key = None
    if kind in ("sdes_caller", "sdes_both"):
        _, to_a_key = pick_crypto(am)
    a_srtp = kind in ("sdes_caller", "sdes_both")
    b_srtp = kind in ("sdes", "sdes_both")
    return [stream(cid + "/a", a_host, pa, relay_a[0], relay_a[1],
                   tx=(SUITE, akey) if a_srtp else None,
                   rx=(SUITE, to_a_key) if a_srtp else None, seq=seq_a),
            stream(cid + "/b", b_host, pb, relay_b[0], relay_b[1],
                   tx=(SUITE, bkey) if b_srtp else None,
                   rx=(SUITE, to_b_key) if b_srtp else None, seq=seq_b)]


def setup_call_retry(ngc, cid, kind, timeout=2.0, **kw):
    """setup_call, retried (with a fresh call-id suffix each time the
    offer fails) until it works or timeout passes: for the moments after a
    restart.  Returns (streams, seconds it took, attempts)."""
    t0 = time.monotonic()
    n = 0
    last = None
    while True:
        n += 1
        try:
            return setup_call(ngc, cid, kind, timeout=1.0, **kw), \
                time.monotonic() - t0, n
        except AssertionError as e:
            last = e
            ngc.cmd({"command": "delete", "call-id": cid}, timeout=0.5)
        if time.monotonic() - t0 > timeout:
            raise AssertionError("call %s not set up within %.1fs (%d "
                                 "attempts): %s" % (cid, timeout, n, last))
        time.sleep(0.05)


def delete_calls(ngc, cids):
    for cid in cids:
        ngc.cmd({"command": "delete", "call-id": cid}, timeout=1.0)


# ---------------------------------------------------------------- media
class MediaProbe:
    """mediaprobe over streams for at most seconds (stop() ends it)."""

    def __init__(self, streams, seconds=120, tmpdir="/tmp"):
        self.streams = list(streams)
        fd, self.spec = tempfile.mkstemp(prefix="mediaprobe.", dir=tmpdir)
        with os.fdopen(fd, "w") as f:
            f.write("".join(spec_line(s) for s in self.streams))
        self.p = subprocess.Popen([mediaprobe_path(), "-d", str(seconds),
                                   "-g", str(GAP_MS), self.spec], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("mediaprobe: %s" % self.p.stderr.read())
        self.u0 = json.loads(line)["unix_ms"]
        self.out = None

    def now_ms(self):
        """The probe's clock: ms since its start."""
        return time.time() * 1000 - self.u0

    def stop(self):
        if self.out is None:
            if self.p.poll() is None:
                self.p.send_signal(signal.SIGTERM)
            out, err = self.p.communicate(timeout=30)
            os.unlink(self.spec)
            self.out = [json.loads(l) for l in out.splitlines() if l.strip()]
            self.err = err
        return self.results()

    def finish(self, timeout=30):
        """Waits for a probe started with a duration to end by itself."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        return self.stop()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)

    def results(self):
        """{stream id: result}, and the run's duration in ms."""
        res = {r["id"]: r for r in self.out if "id" in r}
        dur = [r["duration_ms"] for r in self.out
               if r.get("event") == "end"]
        return res, (dur[0] if dur else None)


def stream_gaps(r, duration):
    """Every interval without reception over GAP_MS, the start and the
    end included, as (start_ms, len_ms)."""
    g = [tuple(x) for x in r["gaps"]]
    if r["first_rx_ms"] < 0:
        return [(0, duration)]
    if r["first_rx_ms"] > GAP_MS:
        g.insert(0, (0, r["first_rx_ms"]))
    if r["tail_gap_ms"] > GAP_MS:
        g.append((r["last_rx_ms"], r["tail_gap_ms"]))
    return g


def calls_of(streams):
    out = {}
    for s in streams:
        out.setdefault(s["id"].rsplit("/", 1)[0], []).append(s["id"])
    return out


def analyse(streams, res, duration, faults, settle_ms=1000, only=None):
    """Per fault (a dict with at least t_ms, the probe time of the kill,
    and restart_ms), over the streams whose ids are in only (default all)
    and the probe time until the next fault (or the end):
      gap_ms      the longest interruption of any stream around the kill
      lost_pkts   packets missing (sequence holes) in that period
      lost_calls  calls with a stream that received nothing after
                  t_ms + restart_ms + settle_ms in that period
      auth_fail   SRTP authentication failures in that period, and
      auth_late   of those, the ones after t_ms + restart_ms + settle_ms
    Returns the list of per-fault dicts (the faults' own keys kept)."""
    ids = [s["id"] for s in streams if only is None or s["id"] in only]
    out = []
    for i, f in enumerate(faults):
        t = f["t_ms"]
        end = faults[i + 1]["t_ms"] if i + 1 < len(faults) else duration
        back = t + f.get("restart_ms", 0) + settle_ms
        gap, lost, auth, auth_late = 0, 0, 0, 0
        dead = set()
        for sid in ids:
            r = res[sid]
            for gs, gl in stream_gaps(r, duration):
                # an interruption that began at most 100 ms before the
                # kill (the last packet before it) and not just before
                # the next one
                if gs + gl >= t and t - 100 <= gs < end - 100:
                    gap = max(gap, gl)
            lost += sum(n for ht, n in r["holes"] if t <= ht < end)
            af = [x for x in r["auth_fail_ms"] if t <= x < end]
            auth += len(af)
            auth_late += len([x for x in af if x >= back])
            if r["last_rx_ms"] < min(back, end - 1) or any(
                    gs <= back and gs + gl >= end - 50
                    for gs, gl in stream_gaps(r, duration)
                    if gs + gl >= t):
                dead.add(sid.rsplit("/", 1)[0])
        out.append(dict(f, gap_ms=gap, lost_pkts=lost,
                        lost_calls=len(dead), dead_calls=sorted(dead),
                        auth_fail=auth, auth_late=auth_late))
    return out


def fault_line(daemon, i, a):
    line = ("FAULT %s kill=%d restart_ms=%d gap_ms=%d lost_pkts=%d "
            "lost_calls=%d auth_fail=%d" %
            (daemon, i, round(a.get("restart_ms", 0)), a["gap_ms"],
             a["lost_pkts"], a["lost_calls"], a["auth_fail"]))
    print(line)
    sys.stdout.flush()
    return line


def summary(res, ids=None):
    """Totals over streams: sent, received, lost, auth_failed,
    max_gap_ms."""
    rs = [r for sid, r in res.items() if ids is None or sid in ids]
    return {"streams": len(rs),
            "sent": sum(r["sent"] for r in rs),
            "received": sum(r["received"] for r in rs),
            "lost": sum(r["lost"] for r in rs),
            "auth_failed": sum(r["auth_failed"] for r in rs),
            "max_gap_ms": max([r["max_gap_ms"] for r in rs] or [0])}


# ---------------------------------------------------------------- Kamailio
KAMDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kamailio")
KAM_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


def kamailio_usable():
    """None, or why Kamailio + sipp cannot run here."""
    if not (shutil.which("kamailio") and shutil.which("sipp")):
        return "needs kamailio and sipp"
    if not os.path.exists(os.path.join(KAM_MODULES, "rtpengine.so")):
        return "needs Kamailio's rtpengine module (kamailio-extra-modules)"
    return None


class Kamailio:
    """Kamailio as a stateful proxy whose rtpengine module points at
    ng_port, and sipp UAC/UAS scenarios (tests/integration/kamailio/uac.xml,
    uas.xml) rewritten so that they play no pcap and advertise media ports
    mediaprobe binds instead."""

    def __init__(self, ng_port, workdir):
        self.ng_port = ng_port
        self.dir = os.path.join(workdir, "kamailio")
        os.makedirs(self.dir, exist_ok=True)
        self.procs = {}
        self.port = _free_port((socket.SOCK_DGRAM,))

    def start(self):
        pid = os.path.join(self.dir, "kamailio.pid")
        argv = ["kamailio", "-DD", "-E", "-f",
                os.path.join(KAMDIR, "kamailio.cfg"), "-Y", self.dir, "-P",
                pid, "-m", "64", "-M", "8", "-A", "SIP_PORT=%d" % self.port,
                "-A", 'NG_SOCK="udp:127.0.0.1:%d"' % self.ng_port]
        self.spawn("kamailio", argv)
        if not wait_for(self.options_ok, 20, 0.25):
            raise RuntimeError("Kamailio does not answer:\n" +
                               self.tail("kamailio"))

    def spawn(self, name, argv):
        logf = open(os.path.join(self.dir, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, cwd=self.dir)
        logf.close()
        self.procs[name] = p
        return p

    def tail(self, name, n=40):
        try:
            with open(os.path.join(self.dir, name + ".log"),
                      errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError as e:
            return "(%s)" % e

    def options_ok(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", 0))
            lp = s.getsockname()[1]
            r = random.getrandbits(32)
            msg = ("OPTIONS sip:127.0.0.1:{k} SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:{l};branch=z9hG4bK-f{r}\r\n"
                   "From: <sip:t@127.0.0.1:{l}>;tag=f{r}\r\n"
                   "To: <sip:127.0.0.1:{k}>\r\n"
                   "Call-ID: f-{r}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
                   "Max-Forwards: 5\r\nContent-Length: 0\r\n\r\n").format(
                       k=self.port, l=lp, r=r)
            s.settimeout(0.5)
            s.sendto(msg.encode(), ("127.0.0.1", self.port))
            data, _ = s.recvfrom(65535)
            return data.startswith(b"SIP/2.0 200")
        except OSError:
            return False
        finally:
            s.close()

    def scenario(self, name, media_port):
        with open(os.path.join(KAMDIR, name + ".xml")) as f:
            text = f.read()
        text = re.sub(r"<nop>\s*<action>\s*<exec play_pcap_audio=[^>]*/>"
                      r"\s*</action>\s*</nop>", "", text)
        text = text.replace("[media_port]", str(media_port))
        path = os.path.join(self.dir, "%s-%d.xml" % (name, media_port))
        with open(path, "w") as f:
            f.write(text)
        return path

    def call(self, call_ms, uac_ip="127.0.0.2", uas_ip="127.0.0.3"):
        """One call UAC -> Kamailio -> UAS lasting call_ms; returns the
        media ports the two advertise (mediaprobe binds them)."""
        uac_media, uas_media = endpoint_port(uac_ip), endpoint_port(uas_ip)
        self.uas_port = endpoint_port(uas_ip)
        uac_port = endpoint_port(uac_ip)
        common = ["-nostdin", "-timeout", "%ds" % (call_ms // 1000 + 60),
                  "-timeout_error", "-max_retrans", "5", "-t", "u1",
                  "-trace_err", "-trace_msg"]
        self.spawn("sipp-uas", ["sipp", "-sf", self.scenario("uas",
                                                              uas_media),
                                "-i", uas_ip, "-p", str(self.uas_port),
                                "-mi", uas_ip,
                                "-mp", str(endpoint_port(uas_ip)),
                                "-m", "1"] + common)
        time.sleep(0.3)
        self.spawn("sipp-uac", ["sipp", "-sf", self.scenario("uac",
                                                              uac_media),
                                "-i", uac_ip, "-p", str(uac_port),
                                "-mi", uac_ip,
                                "-mp", str(endpoint_port(uac_ip)),
                                "-rsa", "127.0.0.1:%d" % self.port,
                                "-s", "callee", "-m", "1", "-l", "1",
                                "-d", str(call_ms),
                                "%s:%d" % (uas_ip, self.uas_port)] + common)
        return (uac_ip, uac_media), (uas_ip, uas_media)

    def wait_sipp(self, timeout):
        """The exit statuses of the sipp UAC and UAS."""
        rcs = {}
        deadline = time.monotonic() + timeout
        for n in ("sipp-uac", "sipp-uas"):
            p = self.procs.get(n)
            if p is None:
                continue
            try:
                rcs[n] = p.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
                rcs[n] = None
        return rcs

    def stop(self):
        for n in [n for n in self.procs if n.startswith("sipp")] + \
                ["kamailio"]:
            p = self.procs.pop(n, None)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def kamailio_streams(ngc, cid, uac, uas):
    """mediaprobe streams for the Kamailio call cid: each party sends
    from the address its SDP advertises to the relay port ctld gave it
    (ng query: the tag's local address and port)."""
    q = ngc.cmd({"command": "query", "call-id": cid})
    if not ok(q):
        raise AssertionError("query %s: %r" % (cid, q))
    out = []
    for tag, t in q["tags"].items():
        st = t["medias"][0]["streams"][0]
        who = "uac" if "SIPpTag00" in tag else "uas"
        ep = uac if who == "uac" else uas
        out.append(stream("%s/%s" % (cid, who), ep[0], ep[1],
                          st["local address"], st["local port"]))
    if len(out) != 2:
        raise AssertionError("query %s: tags %r" % (cid, list(q["tags"])))
    return out
