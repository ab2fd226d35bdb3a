# One UDP datagram echoed by the stack (three tries, 1 s each).
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(3):
    s.sendto(b"udp still there?", (host, port))
    try:
        got, addr = s.recvfrom(100)
    except socket.timeout:
        continue
    if got == b"udp still there?":
        print("udp echo ok")
        sys.exit(0)
sys.exit("no UDP echo from %s:%d" % (host, port))
