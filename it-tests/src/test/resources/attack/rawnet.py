# Frames by hand for the attack suite (AttackOverTapTest): Ethernet, ARP, IPv4, IPv6, ICMP, ICMPv6 and TCP
# built and parsed with struct, sent and sniffed on the kernel side of the TAP device through an AF_PACKET
# socket. No third-party module: the standard library of /usr/bin/python3 is enough.
import os, random, select, socket, struct, subprocess, time

ETH_P_ALL, ETH_IP, ETH_ARP, ETH_IP6 = 0x0003, 0x0800, 0x0806, 0x86DD
PACKET_OUTGOING = 4
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def die(msg):
    print("ATTACK FAILED: " + msg, flush=True)
    raise SystemExit(1)


def mac_bytes(text):
    return bytes.fromhex(text.strip().replace(":", ""))


def mac_text(b):
    return ":".join("%02x" % x for x in b)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_bytes(addr):
    return socket.inet_pton(socket.AF_INET6 if ":" in addr else socket.AF_INET, addr)


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, ETH_IP, 6, 4, op) + sha + ip_bytes(spa) + tha + ip_bytes(tpa)


def ipv4(src, dst, proto, payload, ttl=64, ident=None):
    ident = random.getrandbits(16) if ident is None else ident
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                    ip_bytes(src), ip_bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim, ip_bytes(src), ip_bytes(dst)) + payload


def pseudo(src, dst, proto, length):
    if ":" in src:
        return ip_bytes(src) + ip_bytes(dst) + struct.pack("!IxxxB", length, proto)
    return ip_bytes(src) + ip_bytes(dst) + struct.pack("!xBH", proto, length)


def tcp(src, dst, sport, dport, seq, ack, flags, win, opts=b"", data=b""):
    opts += b"\x01" * (-len(opts) % 4)
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(opts) // 4) << 4,
                    flags, win, 0, 0) + opts
    seg = h + data
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def icmp_echo(ident, seq, data=b"attack", v6_src=None, v6_dst=None):
    t = 128 if v6_src else 8
    m = struct.pack("!BBHHH", t, 0, 0, ident, seq) + data
    c = csum((pseudo(v6_src, v6_dst, 58, len(m)) if v6_src else b"") + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


def icmp(type_, code, body):
    m = struct.pack("!BBHI", type_, code, 0, 0) + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def opt_mss(v): return struct.pack("!BBH", 2, 4, v)
def opt_wscale(v): return struct.pack("!BBBB", 1, 3, 3, v)
def opt_sackok(): return b"\x01\x01\x04\x02"
def opt_ts(val, ecr): return struct.pack("!BBBBII", 1, 1, 8, 10, val & 0xFFFFFFFF, ecr & 0xFFFFFFFF)


def opt_sack(blocks):
    return b"\x01\x01" + struct.pack("!BB", 5, 2 + 8 * len(blocks)) + b"".join(
        struct.pack("!II", s & 0xFFFFFFFF, e & 0xFFFFFFFF) for s, e in blocks)


class Frame:
    """A parsed frame: what the attack scripts look at."""

    def __init__(self, b):
        self.raw = b
        self.dst, self.src, self.type = b[0:6], b[6:12], struct.unpack("!H", b[12:14])[0]
        self.ip_src = self.ip_dst = None
        self.proto = None
        self.l4 = b""
        self.tcp = None
        if self.type == ETH_ARP and len(b) >= 42:
            self.arp_op = struct.unpack("!H", b[20:22])[0]
            self.arp_sha, self.arp_spa = b[22:28], socket.inet_ntoa(b[28:32])
            self.arp_tpa = socket.inet_ntoa(b[38:42])
        elif self.type == ETH_IP and len(b) >= 34:
            hl = (b[14] & 15) * 4
            total = struct.unpack("!H", b[16:18])[0]
            self.proto = b[23]
            self.ip_src, self.ip_dst = socket.inet_ntoa(b[26:30]), socket.inet_ntoa(b[30:34])
            self.l4 = b[14 + hl:14 + total]
        elif self.type == ETH_IP6 and len(b) >= 54:
            plen = struct.unpack("!H", b[18:20])[0]
            self.proto = b[20]
            self.ip_src = socket.inet_ntop(socket.AF_INET6, b[22:38])
            self.ip_dst = socket.inet_ntop(socket.AF_INET6, b[38:54])
            self.l4 = b[54:54 + plen]
        if self.proto == 6 and len(self.l4) >= 20:
            sp, dp, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", self.l4[:16])
            doff = (off >> 4) * 4
            self.tcp = self
            self.sport, self.dport, self.seq, self.ack, self.flags, self.win = sp, dp, seq, ack, flags, win
            self.opts = self.l4[20:doff]
            self.data = self.l4[doff:]
            self.tsval = self.tsecr = None
            self.sack = []
            i = 0
            while i < len(self.opts):
                k = self.opts[i]
                if k == 0:
                    break
                if k == 1:
                    i += 1
                    continue
                if i + 1 >= len(self.opts) or self.opts[i + 1] < 2:
                    break
                n = self.opts[i + 1]
                if k == 8 and n == 10:
                    self.tsval, self.tsecr = struct.unpack("!II", self.opts[i + 2:i + 10])
                if k == 5:
                    body = self.opts[i + 2:i + n]
                    self.sack = [struct.unpack("!II", body[j:j + 8]) for j in range(0, len(body) - 7, 8)]
                i += n

    def __repr__(self):
        if self.tcp:
            return "TCP %s:%d > %s:%d flags=%#x seq=%d ack=%d win=%d len=%d" % (
                self.ip_src, self.sport, self.ip_dst, self.dport, self.flags, self.seq, self.ack, self.win,
                len(self.data))
        if self.type == ETH_ARP:
            return "ARP op=%d %s (%s) asks/tells %s" % (self.arp_op, self.arp_spa, mac_text(self.arp_sha),
                                                       self.arp_tpa)
        return "frame type=%#x %s > %s proto=%s" % (self.type, self.ip_src, self.ip_dst, self.proto)


class Tap:
    """The kernel side of the TAP device: frames written here reach the stack, the stack's frames are read."""

    def __init__(self, ifname):
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)
        with open("/sys/class/net/%s/address" % ifname) as f:
            self.mac = mac_bytes(f.read())

    def send(self, frame):
        for _ in range(1000):
            try:
                return self.sock.send(frame)
            except (BlockingIOError, OSError) as e:  # ENOBUFS: the TAP queue is full; give the stack a moment
                if isinstance(e, BlockingIOError) or e.errno == 105:
                    time.sleep(0.0005)
                    continue
                raise
        die("could not send a frame: the TAP queue stayed full")

    def recv(self, timeout):
        """The next frame the stack sent (not one sent from this side), or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                b, addr = self.sock.recvfrom(65600)
                if addr[2] != PACKET_OUTGOING:
                    return Frame(b)
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([self.sock], [], [], left)

    def recv_any(self, timeout):
        """The next frame in either direction, with whether it was outgoing (from the kernel)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                b, addr = self.sock.recvfrom(65600)
                return Frame(b), addr[2] == PACKET_OUTGOING
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                return None, False
            select.select([self.sock], [], [], left)

    def drain(self):
        for _ in range(100000):
            if self.recv(0) is None:
                return


def stack_mac(stack_ip):
    """The stack's MAC address, from the kernel's neighbour table after a ping."""
    subprocess.run(["ping", "-c", "1", "-W", "2", stack_ip], stdout=subprocess.DEVNULL)
    out = subprocess.run(["ip", "neigh", "show", stack_ip], capture_output=True, text=True).stdout.split()
    if "lladdr" not in out:
        die("the kernel does not know the stack's MAC address: %r" % out)
    return mac_bytes(out[out.index("lladdr") + 1])


class Peer:
    """A TCP peer made of raw frames, with an address of its own on the TAP's prefix (the kernel does not own it,
    so it never answers for it) and a made-up MAC; it answers the stack's ARP requests for its address."""

    def __init__(self, tap, ip, stack_ip, smac, mac=None):
        self.tap, self.ip, self.stack_ip, self.smac = tap, ip, stack_ip, smac
        self.mac = mac or bytes([2, 0x55, 0x54] + [random.getrandbits(8) for _ in range(3)])
        self.backlog = []

    def announce(self):
        # RFC 826: the stack is the target of this request, so it learns our address from it.
        self.tap.send(eth(self.smac, self.mac, ETH_ARP, arp(1, self.mac, self.ip, b"\0" * 6, self.stack_ip)))

    def send(self, sport, dport, seq, ack, flags, win, opts=b"", data=b""):
        seg = tcp(self.ip, self.stack_ip, sport, dport, seq, ack, flags, win, opts, data)
        self.tap.send(eth(self.smac, self.mac, ETH_IP, ipv4(self.ip, self.stack_ip, 6, seg)))

    def recv(self, timeout, sport=None):
        """The next TCP segment from the stack to us (to sport if given); answers ARP for our address."""
        deadline = time.monotonic() + timeout
        late = 0  # frames looked at after the deadline: other traffic never stops, so this is bounded
        while late < 256:
            left = deadline - time.monotonic()
            if left <= 0:
                late += 1
            f = self.tap.recv(max(0.0, left))
            if f is None:
                return None
            if f.type == ETH_ARP and f.arp_op == 1 and f.arp_tpa == self.ip:
                self.tap.send(eth(f.src, self.mac, ETH_ARP, arp(2, self.mac, self.ip, f.arp_sha, f.arp_spa)))
            elif f.tcp and f.ip_dst == self.ip and (sport is None or f.dport == sport):
                return f
        return None

    def connect(self, dport, sport=None, mss=1460, wscale=7, sack=True, ts=False, win=65535):
        sport = sport or random.randint(20000, 60000)
        iss = random.getrandbits(32)
        opts = opt_mss(mss) + (opt_wscale(wscale) if wscale is not None else b"") + (opt_sackok() if sack else b"")
        if ts:
            opts += opt_ts(1000, 0)
        self.send(sport, dport, iss, 0, SYN, win, opts)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            f = self.recv(deadline - time.monotonic(), sport)
            if f is not None and f.flags & (SYN | ACK) == SYN | ACK and f.ack == (iss + 1) & 0xFFFFFFFF:
                c = Conn(self, sport, dport, iss + 1, f.seq + 1, wscale or 0)
                c.snd_wnd = f.win
                c.ack(win >> (wscale or 0))
                return c
        die("no SYN-ACK from %s:%d for the raw peer %s:%d" % (self.stack_ip, dport, self.ip, sport))


class Conn:
    """One raw connection: our SND.NXT and RCV.NXT; nothing is retransmitted."""

    def __init__(self, peer, sport, dport, snd_nxt, rcv_nxt, wscale):
        self.peer, self.sport, self.dport = peer, sport, dport
        self.snd_nxt, self.rcv_nxt, self.wscale = snd_nxt & 0xFFFFFFFF, rcv_nxt & 0xFFFFFFFF, wscale
        self.snd_una = self.snd_nxt
        self.snd_wnd = 65535

    def ack(self, win=None, opts=b""):
        self.peer.send(self.sport, self.dport, self.snd_nxt, self.rcv_nxt, ACK,
                       65535 if win is None else win, opts)

    def send_data(self, data, win=None):
        self.peer.send(self.sport, self.dport, self.snd_nxt, self.rcv_nxt, ACK | PSH,
                       65535 if win is None else win, b"", data)
        self.snd_nxt = (self.snd_nxt + len(data)) & 0xFFFFFFFF

    def rst(self):
        self.peer.send(self.sport, self.dport, self.snd_nxt, 0, RST, 0)


def seq_after(a, b):
    """a > b in sequence space (RFC 1982)."""
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000
