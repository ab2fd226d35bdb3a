# The legitimate client during a SYN flood: sequential connects (each with one echoed line) for the given
# seconds; a connect that does not complete within the per-connect timeout is a failure. Prints every
# failure and the connect times; exit 1 if any connect failed.
import socket, sys, time
host, port, seconds, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ok, failures, times = 0, [], []
end = time.monotonic() + seconds
while time.monotonic() < end:
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            times.append(time.monotonic() - t0)
            s.settimeout(5)
            s.sendall(b"legit\n")
            got = b""
            while len(got) < 6:
                d = s.recv(16)
                if not d:
                    break
                got += d
            if got != b"legit\n":
                failures.append("echo %r" % got)
                continue
            ok += 1
    except OSError as e:
        failures.append("%.2f s: %r" % (time.monotonic() - t0, e))
    time.sleep(0.05)
times.sort()
print("legit connects: %d ok, %d failed; connect time max %.3f s, median %.3f s" % (
    ok, len(failures), times[-1] if times else -1, times[len(times) // 2] if times else -1))
for f in failures[:10]:
    print("  failed: " + f)
if failures or ok == 0:
    sys.exit(1)
