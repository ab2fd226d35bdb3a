# Attack f: zero-window hold. A raw peer connects, sends 256 KiB for the echo and a FIN (the echo then closes
# its side: the connection is orphaned with data still to send), ACKs the first echoed segment with window 0 and
# goes silent: no answer to the stack's zero-window probes, no ARP replies. Prints what it saw for a while.
import sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, peer_ip, port, watch = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
tap = Tap(ifname)
smac = stack_mac(stack)
peer = Peer(tap, peer_ip, stack, smac)
peer.announce()
c = peer.connect(port, mss=1460, wscale=0, sack=False, ts=False, win=1460)
data = bytes(range(256)) * 4
for i in range(16):
    c.send_data(data[:1024], win=1460)
first = None
deadline = time.monotonic() + 5
while first is None and time.monotonic() < deadline:
    f = peer.recv(0.5, c.sport)
    if f is not None and f.data and f.seq == c.rcv_nxt:
        first = f
if first is None:
    die("no echo data from the stack")
c.rcv_nxt = (first.seq + len(first.data)) & 0xFFFFFFFF
# The rest of our data (within the stack's window) and a FIN, all carrying window 0.
for i in range(16):
    c.send_data(data[:1024], win=0)
peer.send(c.sport, c.dport, c.snd_nxt, c.rcv_nxt, ACK | FIN, 0)
c.snd_nxt += 1
print("window 0 advertised at %d; silent from now on" % c.rcv_nxt, flush=True)
# Silent: only watch (no ARP answers either).
probes = []
t0 = time.monotonic()
while time.monotonic() - t0 < watch:
    f = tap.recv(0.5)
    if f is not None and f.tcp and f.ip_dst == peer_ip and f.dport == c.sport:
        probes.append((round(time.monotonic() - t0, 2), f.flags, len(f.data)))
    elif f is not None and f.type == ETH_ARP and f.arp_tpa == peer_ip:
        probes.append((round(time.monotonic() - t0, 2), "arp", 0))
print("seen after going silent: %r" % probes[:40], flush=True)
