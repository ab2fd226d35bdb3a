# Attack c: frames the stack must drop without an answer, sent on the wire from the kernel side: TCP SYN and
# ICMP echo to 127.0.0.1 and ::1, TCP SYN and ICMP echo whose source is the stack's own address (IPv4 and
# IPv6), a SYN from 127.0.0.1, and an ARP request for 127.0.0.1. Then listens: any answer is a failure.
import random, sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
ifname, stack, kernel, stack6, kernel6, port = sys.argv[2:7] + [int(sys.argv[7])]
tap = Tap(ifname)
smac = stack_mac(stack)
# The kernel's IPv6 address must be past duplicate address detection to answer the stack's solicitations.
for _ in range(50):
    if "tentative" not in subprocess.run(["ip", "-6", "addr", "show", "dev", ifname], capture_output=True,
                                         text=True).stdout:
        break
    time.sleep(0.1)
tap.drain()
ports = set(random.sample(range(20000, 60000), 6))
sp = iter(sorted(ports))
ids = set(random.sample(range(1, 65535), 4))
ic = iter(sorted(ids))
frames = []
def syn4(src, dst):
    p = next(sp)
    frames.append(("SYN %s:%d > %s:%d" % (src, p, dst, port),
                   eth(smac, tap.mac, ETH_IP, ipv4(src, dst, 6, tcp(src, dst, p, port, random.getrandbits(32), 0,
                                                                   SYN, 65535, opt_mss(1460)))), True))
def syn6(src, dst):
    p = next(sp)
    frames.append(("SYN [%s]:%d > [%s]:%d" % (src, p, dst, port),
                   eth(smac, tap.mac, ETH_IP6, ipv6(src, dst, 6, tcp(src, dst, p, port, random.getrandbits(32), 0,
                                                                    SYN, 65535, opt_mss(1440)))), True))
def ping4(src, dst):
    i = next(ic)
    frames.append(("ICMP echo %s > %s id %d" % (src, dst, i),
                   eth(smac, tap.mac, ETH_IP, ipv4(src, dst, 1, icmp_echo(i, 1))), True))
def ping6(src, dst):
    i = next(ic)
    frames.append(("ICMPv6 echo %s > %s id %d" % (src, dst, i),
                   eth(smac, tap.mac, ETH_IP6, ipv6(src, dst, 58, icmp_echo(i, 1, b"attack", src, dst))), True))
syn4(kernel, "127.0.0.1")
ping4(kernel, "127.0.0.1")
syn4(stack, stack)
ping4(stack, stack)
syn4("127.0.0.1", stack)
syn6(kernel6, "::1")
ping6(kernel6, "::1")
syn6(stack6, stack6)
ping6(stack6, stack6)
frames.append(("ARP who-has 127.0.0.1", eth(b"\xff" * 6, tap.mac, ETH_ARP,
                                            arp(1, tap.mac, kernel, b"\0" * 6, "127.0.0.1")), False))
for what, f, ip in frames:
    tap.send(f)
print("sent %d martian frames; listening 1.5 s for answers" % len(frames), flush=True)
answers = []
deadline = time.monotonic() + 1.5
while time.monotonic() < deadline:
    f = tap.recv(max(0, deadline - time.monotonic()))
    if f is None:
        continue
    loop = lambda a: a is not None and (a.startswith("127.") or a == "::1")
    if f.type == ETH_ARP and f.arp_op == 2 and f.arp_spa.startswith("127."):
        answers.append("ARP reply: %r" % f)
    elif loop(f.ip_src) or loop(f.ip_dst):
        answers.append("loopback address on the wire: %r" % f)
    elif f.tcp and f.dport in ports:
        answers.append("TCP answer: %r" % f)
    elif f.proto in (1, 58) and len(f.l4) >= 8 and f.l4[0] in (0, 129) and struct.unpack("!H", f.l4[4:6])[0] in ids:
        answers.append("echo reply: %r" % f)
if answers:
    die("the stack answered martian frames:\n  " + "\n  ".join(answers))
print("no answer to %d martian frames" % len(frames))
print("IP_FRAMES %d" % sum(1 for _, _, ip in frames if ip))
