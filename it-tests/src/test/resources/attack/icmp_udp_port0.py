# Attack a: ICMP port unreachable quoting a UDP datagram from the stack's address with source port = the bound
# UDP port and destination port 0 (and one quoting a real-looking destination port), sent by the kernel's raw
# ICMP socket: the kernel fills in the IPv4 header.
import socket, struct, sys
sys.path.insert(0, sys.argv[1])
from rawnet import *
stack, kernel, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
n = 0
for dport in (0, 0, 40000):
    udp = struct.pack("!HHHH", port, dport, 8 + 16, 0)
    quoted = ipv4(stack, kernel, 17, udp + b"q" * 16)
    s.sendto(icmp(3, 3, quoted), (stack, 0))
    n += 1
print("sent %d ICMP port unreachable quoting UDP %s:%d" % (n, stack, port))
