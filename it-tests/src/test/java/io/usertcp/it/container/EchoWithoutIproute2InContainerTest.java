package io.usertcp.it.container;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.usertcp.it.container.ContainerFixture.KERNEL_CIDR;
import static io.usertcp.it.container.ContainerFixture.STACK;
import static io.usertcp.it.container.ContainerFixture.TAP;
import static io.usertcp.it.container.ContainerFixture.execOk;
import static io.usertcp.it.container.ContainerFixture.python;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #13's "no iproute2 needed", proved: the echo example in an image from which the iproute2 package was
 * purged (build-noip-image.sh; no {@code ip} binary anywhere), with only {@code --cap-add NET_ADMIN --device
 * /dev/net/tun} and network mode none. The example creates the TAP device, brings it up and gives the kernel's
 * side its address through rtnetlink; the container's kernel is the peer (ping and python3 clients run with
 * {@code docker exec}), and reads the device's state from {@code /sys} and ioctls, since there is no {@code ip}.
 * IPv4 only: Docker disables IPv6 in a container's namespace unless its network has IPv6.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EchoWithoutIproute2InContainerTest {

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
        container = ContainerFixture.stackContainerIn(ContainerFixture.imageWithoutIp(),
                ".*usertcp echo server listening.*", "echo-server", TAP, KERNEL_CIDR, STACK, String.valueOf(PORT));
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
            container.stop();
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
    void theImageHasNoIp() throws Exception {
        ExecResult which = container.execInContainer("which", "ip");
        assertEquals(1, which.getExitCode(), () -> "`which ip` should find nothing: " + which);
        ExecResult shell = container.execInContainer("sh", "-c", "command -v ip");
        assertNotEquals(0, shell.getExitCode(), () -> "`command -v ip` found one: " + shell.getStdout());
        String out = python(container, Duration.ofSeconds(20), NO_IP, TAP);
        assertTrue(out.contains("no ip binary, no iproute2 package"), out);
    }

    @Test
    void tapDeviceIsUpWithTheKernelAddress() throws Exception {
        String out = python(container, Duration.ofSeconds(20), TAP_STATE, TAP);
        assertTrue(out.contains("up " + KERNEL_CIDR), () -> "expected " + TAP + " up with " + KERNEL_CIDR + ": " + out);
    }

    @Test
    void ping() throws Exception {
        String out = execOk(container, Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", STACK);
        assertTrue(out.contains("3 received"), out);
    }

    @Test
    void fourMebibytesEchoedByteForByte() throws Exception {
        String out = python(container, Duration.ofSeconds(90), EchoInContainerTest.BULK, STACK,
                String.valueOf(PORT), "4");
        assertTrue(out.contains("echoed intact"), out);
    }

    @Test
    void twentyConcurrentConnections() throws Exception {
        String out = python(container, Duration.ofSeconds(60), EchoInContainerTest.CONCURRENT, STACK,
                String.valueOf(PORT), "20");
        assertTrue(out.contains("20 concurrent connections all echoed"), out);
    }

    /** No file or link named ip in the usual directories or on the PATH, and dpkg knows no iproute2. */
    static final String NO_IP = """
            import os, shutil, sys
            dirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            found = [d + "/ip" for d in dirs if os.path.lexists(d + "/ip")]
            if shutil.which("ip"):
                found.append("on the PATH: " + shutil.which("ip"))
            if found:
                sys.exit("ip is there: %s" % found)
            if os.path.exists("/var/lib/dpkg/info/iproute2.list"):
                sys.exit("the iproute2 package is installed")
            if not os.path.exists("/sys/class/net/" + sys.argv[1]):
                sys.exit("no device " + sys.argv[1])
            print("no ip binary, no iproute2 package")
            """;

    /** The device's IFF_UP flag from /sys, and its IPv4 address and netmask by SIOCGIFADDR/SIOCGIFNETMASK. */
    static final String TAP_STATE = """
            import fcntl, ipaddress, socket, struct, sys
            dev = sys.argv[1]
            flags = int(open("/sys/class/net/%s/flags" % dev).read(), 16)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            req = struct.pack("256s", dev.encode())
            addr = socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, req)[20:24])   # SIOCGIFADDR
            mask = socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x891b, req)[20:24])   # SIOCGIFNETMASK
            prefix = ipaddress.IPv4Network("0.0.0.0/" + mask).prefixlen
            print("%s %s/%d mtu %s" % ("up" if flags & 1 else "down", addr, prefix,
                                       open("/sys/class/net/%s/mtu" % dev).read().strip()))
            """;
}
