# Attack g: many isolated one-byte segments out of order. Raw connections to the echo, each sent segments of
# one byte at RCV.NXT+2, +4, +6, ... (never RCV.NXT: nothing is ever in order), so that none can merge with
# another. The connections stay open (silent) for the test to measure what the stack holds.
import sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, peer_ip, port, conns, segs = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
tap = Tap(ifname)
smac = stack_mac(stack)
peer = Peer(tap, peer_ip, stack, smac)
peer.announce()
cs = [peer.connect(port, mss=1460, wscale=7, sack=True, ts=False) for _ in range(conns)]
n = 0
for c in cs:
    for i in range(segs):
        peer.send(c.sport, c.dport, c.snd_nxt + 2 + 2 * i, c.rcv_nxt, ACK, 0xFFFF, b"", b"o")
        n += 1
        if n % 128 == 0:
            while peer.recv(0) is not None:
                pass
time.sleep(0.5)
while peer.recv(0.1) is not None:
    pass
print("sent %d isolated one-byte segments on %d connections" % (n, conns), flush=True)
