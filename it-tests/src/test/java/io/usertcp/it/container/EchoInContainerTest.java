package io.usertcp.it.container;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.GenericContainer;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.usertcp.it.container.ContainerFixture.KERNEL_CIDR;
import static io.usertcp.it.container.ContainerFixture.STACK;
import static io.usertcp.it.container.ContainerFixture.TAP;
import static io.usertcp.it.container.ContainerFixture.execOk;
import static io.usertcp.it.container.ContainerFixture.python;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The echo example ({@code usertcp-examples.jar echo-server}) in a container with only NET_ADMIN and
 * /dev/net/tun and no network: it creates the TAP device inside the container, and the container's kernel
 * is its peer (ping, and python3 clients run with {@code docker exec}). One container for the whole class.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EchoInContainerTest {

    static final int PORT = 7;
    static GenericContainer<?> container;
    static String skipReason;
    static boolean reported;

    @BeforeAll
    static void startContainer() throws Exception {
        skipReason = ContainerFixture.whyNoDocker();
        if (skipReason != null) {
            return;
        }
        container = ContainerFixture.stackContainer(".*usertcp echo server listening.*",
                "echo-server", TAP, KERNEL_CIDR, STACK, String.valueOf(PORT));
        container.start();
    }

    @AfterAll
    static void stopContainer() {
        if (container == null) {
            return;
        }
        List<String> leaks;
        try {
            leaks = ContainerFixture.leakReports(container);
        } finally {
            container.stop(); // removes it (and its volumes) too
        }
        assertTrue(leaks.isEmpty(), () -> "the echo server reported leaks:\n" + String.join("\n", leaks));
    }

    @BeforeEach
    void skipWithoutDocker() {
        boolean first = !reported;
        reported = true;
        ContainerFixture.skipUnless(skipReason, getClass(), first);
    }

    @Test
    void tapDeviceIsUpWithTheKernelAddress() throws Exception {
        String addr = execOk(container, Duration.ofSeconds(10), "ip", "-o", "-4", "addr", "show", "dev", TAP);
        assertTrue(addr.contains(KERNEL_CIDR), () -> "kernel address " + KERNEL_CIDR + " missing: " + addr);
        String link = execOk(container, Duration.ofSeconds(10), "ip", "-o", "link", "show", "dev", TAP);
        assertTrue(link.contains(",UP"), () -> "link is not up: " + link);
    }

    @Test
    void ping() throws Exception {
        String out = execOk(container, Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", STACK);
        assertTrue(out.contains("3 received"), out);
    }

    @Test
    void sixteenMebibytesEchoedByteForByte() throws Exception {
        String out = python(container, Duration.ofSeconds(120), BULK, STACK, String.valueOf(PORT), "16");
        assertTrue(out.contains("echoed intact"), out);
    }

    @Test
    void hundredConcurrentConnections() throws Exception {
        String out = python(container, Duration.ofSeconds(90), CONCURRENT, STACK, String.valueOf(PORT), "100");
        assertTrue(out.contains("100 concurrent connections all echoed"), out);
    }

    // ---- the clients: the container's kernel TCP ---------------------------------------------------------------

    /**
     * One connection: a sender thread writes MIB mebibytes of a deterministic pattern while the main thread
     * reads the echo and compares every chunk with what was sent at that offset; also compares SHA-256 sums.
     */
    static final String BULK = """
            import hashlib, socket, sys, threading, time
            host, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            total = mib << 20
            block = bytes((i * 31 + (i >> 8)) & 0xff for i in range(65536))
            def chunk(off):  # the 64 KiB at offset off: the block, with the offset stamped in front
                return off.to_bytes(8, "big") + block[8:]
            sent_sum, errors = hashlib.sha256(), []
            s = socket.create_connection((host, port), timeout=30)
            def send():
                try:
                    for off in range(0, total, 65536):
                        c = chunk(off)
                        sent_sum.update(c)
                        s.sendall(c)
                except OSError as e:
                    errors.append("send failed: %r" % e)
            sender = threading.Thread(target=send, daemon=True)
            t0 = time.monotonic()
            sender.start()
            got, pending, got_sum = 0, bytearray(), hashlib.sha256()
            buf = bytearray(1 << 20)
            while got < total:
                try:
                    n = s.recv_into(buf)
                except OSError as e:
                    sys.exit("recv failed after %d of %d bytes: %r %s" % (got, total, e, errors))
                if n == 0:
                    sys.exit("EOF after %d of %d bytes %s" % (got, total, errors))
                if got + n > total:
                    sys.exit("received %d bytes more than were sent" % (got + n - total))
                got_sum.update(buf[:n])
                pending += buf[:n]
                while len(pending) >= 65536:
                    off = got + n - len(pending)
                    want = chunk(off)
                    if pending[:65536] != want:
                        bad = next(i for i in range(65536) if pending[i] != want[i])
                        sys.exit("corrupt byte at offset %d: got %d, expected %d" % (off + bad, pending[bad], want[bad]))
                    del pending[:65536]
                got += n
            dt = time.monotonic() - t0
            sender.join(10)
            s.close()
            if errors:
                sys.exit("; ".join(errors))
            if got_sum.digest() != sent_sum.digest():
                sys.exit("sha256 differs: sent %s, got %s" % (sent_sum.hexdigest(), got_sum.hexdigest()))
            print("%d MiB echoed intact in %.2f s (%.1f MiB/s each way), sha256 %s"
                  % (mib, dt, mib / dt, got_sum.hexdigest()[:16]))
            """;

    /** N connections opened at once (all SYNs before any answer), then each sends its own payload. */
    static final String CONCURRENT = """
            import errno, os, selectors, socket, sys, time
            host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            socks = []
            for i in range(n):
                s = socket.socket()
                s.setblocking(False)
                err = s.connect_ex((host, port))
                if err not in (0, errno.EINPROGRESS):
                    sys.exit("connect %d failed at once: %s" % (i, os.strerror(err)))
                socks.append(s)
            sel = selectors.DefaultSelector()
            for i, s in enumerate(socks):
                sel.register(s, selectors.EVENT_WRITE, i)
            pending, deadline = n, time.monotonic() + 30
            while pending:
                events = sel.select(timeout=max(0.0, deadline - time.monotonic()))
                if not events:
                    sys.exit("%d of %d connects still pending after 30 s" % (pending, n))
                for key, _ in events:
                    err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        sys.exit("connect %d failed: %s" % (key.data, os.strerror(err)))
                    sel.unregister(key.fileobj)
                    pending -= 1
            def payload(i):
                return b"conn-%04d-" % i + bytes((i * 7 + k) & 0xff for k in range(1000))
            for i, s in enumerate(socks):
                s.settimeout(20)
                s.sendall(payload(i))
            for i, s in enumerate(socks):
                want, got = payload(i), b""
                while len(got) < len(want):
                    d = s.recv(4096)
                    if not d:
                        sys.exit("connection %d: EOF after %d of %d bytes" % (i, len(got), len(want)))
                    got += d
                if got != want:
                    sys.exit("connection %d: wrong echo %r" % (i, got[:40]))
            for s in socks:
                s.close()
            print("%d concurrent connections all echoed" % n)
            """;
}
