# A fresh TCP connection to the echo: connect within the timeout, one line echoed intact.
import socket, sys, time
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
try:
    with socket.create_connection((host, port), timeout=timeout) as s:
        t1 = time.monotonic()
        s.sendall(b"fresh connection\n")
        got = b""
        while len(got) < 17:
            d = s.recv(64)
            if not d:
                break
            got += d
except OSError as e:
    sys.exit("fresh echo connection failed after %.2f s: %r" % (time.monotonic() - t0, e))
if got != b"fresh connection\n":
    sys.exit("fresh echo: got %r" % got)
print("fresh echo ok (connect %.3f s)" % (t1 - t0))
