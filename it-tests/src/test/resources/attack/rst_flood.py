# Attack h: blind RSTs on the kernel's own connection to the echo, each with a sequence number inside the
# stack's receive window but not RCV.NXT (RFC 5961 §3: answered by a challenge ACK, never a reset). Counts the
# ACKs the stack sends on the connection meanwhile; afterwards the connection must still carry data.
import socket, sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, port, count = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
tap = Tap(ifname)
smac = stack_mac(stack)
s = socket.create_connection((stack, port), timeout=10)
lport = s.getsockname()[1]
kernel = s.getsockname()[0]
def echo(msg):
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
tap.drain()
echo(b"before\n")
last = None
deadline = time.monotonic() + 1
while time.monotonic() < deadline:
    f, out = tap.recv_any(0.1)
    if f is not None and out and f.tcp and f.sport == lport:
        last = f
if last is None:
    die("did not see the kernel's segments")
rcv_nxt = (last.seq + len(last.data)) & 0xFFFFFFFF  # the stack's RCV.NXT
win = 60000
acks = 0
t0 = time.monotonic()
for i in range(count):
    seq = rcv_nxt + 1 + random.randrange(win)
    seg = tcp(kernel, stack, lport, port, seq, 0, RST, 0)
    tap.send(eth(smac, tap.mac, ETH_IP, ipv4(kernel, stack, 6, seg)))
    if i % 64 == 0:
        while True:
            f = tap.recv(0)
            if f is None:
                break
            if f.tcp and f.dport == lport and f.flags & ACK and not f.data:
                acks += 1
deadline = time.monotonic() + 0.5
while True:
    f = tap.recv(max(0, deadline - time.monotonic()))
    if f is None:
        break
    if f.tcp and f.dport == lport and f.flags & ACK and not f.data:
        acks += 1
dt = time.monotonic() - t0
print("sent %d blind in-window RSTs in %.2f s; the stack sent %d ACKs on the connection meanwhile" % (count, dt, acks))
print("CHALLENGE_ACKS %d SECONDS %.3f" % (acks, dt), flush=True)
try:
    echo(b"after the RST flood\n")
except OSError as e:
    die("the connection did not survive the RST flood: %r" % e)
s.close()
print("the connection still carries data")
