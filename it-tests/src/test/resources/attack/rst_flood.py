# Attack h: blind RSTs on the kernel's own connections to the echo (many of them, so that a per-connection limit
# alone does not bound the stack's answers), each RST with a sequence number inside the stack's receive window
# but not RCV.NXT (RFC 5961 §3: answered by a challenge ACK, never a reset). Counts the ACKs the stack sends on
# the connections meanwhile; afterwards every connection must still carry data.
import socket, sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, port, count, nconns = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
tap = Tap(ifname)
smac = stack_mac(stack)
def echo(s, msg):
    s.settimeout(5)
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(65536)
        if not d:
            die("EOF from the echo")
        got += d
    if got != msg:
        die("echo mismatch")
socks = [socket.create_connection((stack, port), timeout=10) for _ in range(nconns)]
kernel = socks[0].getsockname()[0]
lports = {s.getsockname()[1]: s for s in socks}
tap.drain()
for s in socks:
    echo(s, b"before\n")
last = {}
deadline = time.monotonic() + 1
while time.monotonic() < deadline and len(last) < nconns:
    f, out = tap.recv_any(0.1)
    if f is not None and out and f.tcp and f.sport in lports:
        last[f.sport] = f
deadline = time.monotonic() + 1
while time.monotonic() < deadline:  # the kernel's last segment of each connection (its ACK of the echo)
    f, out = tap.recv_any(max(0, deadline - time.monotonic()))
    if f is not None and out and f.tcp and f.sport in lports:
        last[f.sport] = f
if len(last) < nconns:
    die("saw the kernel's segments on only %d of %d connections" % (len(last), nconns))
targets = [(lp, (f.seq + len(f.data)) & 0xFFFFFFFF) for lp, f in last.items()]  # the stack's RCV.NXT
win = 60000
acks = 0
def count_acks(timeout):
    global acks
    for _ in range(512):  # the echo in progress never stops sending: take a bounded batch
        f = tap.recv(timeout)
        if f is None:
            return
        if f.tcp and f.dport in lports and f.flags & ACK and not f.data:
            acks += 1
t0 = time.monotonic()
for i in range(count):
    lp, rcv_nxt = targets[i % len(targets)]
    seg = tcp(kernel, stack, lp, port, rcv_nxt + 1 + random.randrange(win), 0, RST, 0)
    tap.send(eth(smac, tap.mac, ETH_IP, ipv4(kernel, stack, 6, seg)))
    if i % 64 == 0:
        count_acks(0)
dt = time.monotonic() - t0
deadline = time.monotonic() + 0.3
while time.monotonic() < deadline:
    count_acks(max(0, deadline - time.monotonic()))
print("sent %d blind in-window RSTs on %d connections in %.2f s; the stack sent %d ACKs on them meanwhile" % (
    count, nconns, dt, acks))
print("CHALLENGE_ACKS %d SECONDS %.3f" % (acks, dt + 0.3), flush=True)
for lp, s in lports.items():
    try:
        echo(s, b"after the RST flood\n")
    except OSError as e:
        die("connection %d did not survive the RST flood: %r" % (lp, e))
    s.close()
print("all %d connections still carry data" % nconns)
