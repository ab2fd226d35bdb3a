# The echo in progress during an attack: streams pseudo-random 16 KiB chunks through the TCP echo and checks
# every byte that comes back, until the stop file exists; then drains and reports. Exit 1 on any mismatch,
# EOF, reset or stall (20 s without progress).
import os, random, socket, sys, time
host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(20251204)
s = socket.create_connection((host, port), timeout=20)
print("local port %d" % s.getsockname()[1], flush=True)
sent = got = 0
t0 = time.monotonic()
try:
    while True:
        chunk = rnd.randbytes(16384)
        s.sendall(chunk)
        sent += len(chunk)
        back = b""
        while len(back) < len(chunk):
            d = s.recv(len(chunk) - len(back))
            if not d:
                sys.exit("EOF after %d of %d bytes echoed" % (got + len(back), sent))
            back += d
        if back != chunk:
            bad = next(i for i in range(len(chunk)) if back[i] != chunk[i])
            sys.exit("corrupt byte at offset %d of the stream" % (got + bad))
        got += len(back)
        if got == len(chunk):
            print("started", flush=True)
        if os.path.exists(stop):
            break
        time.sleep(0.01)
except OSError as e:
    sys.exit("echo in progress failed after %d bytes echoed: %r" % (got, e))
s.close()
print("%d bytes echoed intact in %.1f s" % (got, time.monotonic() - t0), flush=True)
