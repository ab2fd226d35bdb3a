package io.usertcp.link;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Configures the kernel's side of a TAP device as a {@link TapConfig} says, through {@link Rtnetlink} (no
 * {@code ip} command): moves the device into the configured network namespace, sets its MTU and a transmit queue
 * of {@value #TX_QUEUE_LENGTH} frames, gives it the kernel addresses (IPv6 ones without duplicate address
 * detection) and brings it up. Inside a namespace this happens through a netlink socket opened there.
 */
final class KernelSide {
    /**
     * The queue of frames towards us, deeper than the default 1000 so that bursts are absorbed while the stack
     * catches up: a burst of 10,000 connects (bench/burst.sh) lost 12,000-17,000 frames at 4096 and cost the
     * clients thousands of 1 s SYN retransmissions; at 16384 none (issue #12). Frames wait here only while the stack
     * is behind, and the senders' windows bound the bytes they hold.
     */
    static final int TX_QUEUE_LENGTH = 16384;
    private static final int O_RDONLY = 0;

    private KernelSide() {
    }

    /** Moves {@code dev} (in the calling thread's namespace) into {@code cfg.namespace()} and configures it. */
    static void configure(String dev, TapConfig cfg) throws IOException {
        String ns = cfg.namespace();
        if (ns == null && !cfg.configureKernelSide()) {
            return;
        }
        Address[] addresses = parse(dev, cfg);
        if (ns == null) {
            try (Rtnetlink nl = Rtnetlink.open()) {
                configure(nl, nl.linkIndex(dev), dev, cfg, addresses);
            } catch (IOException e) {
                throw withContext(dev, e);
            }
            return;
        }
        int nsFd = openNamespace(dev, ns);
        try {
            try (Rtnetlink here = Rtnetlink.open()) {
                here.moveToNamespace(here.linkIndex(dev), nsFd, dev + " to netns " + ns);
            } catch (IOException e) {
                throw new IOException("cannot move TAP device " + dev + " into network namespace '" + ns + "': "
                        + e.getMessage(), e);
            }
            if (cfg.configureKernelSide()) {
                try (Rtnetlink there = Rtnetlink.openIn(nsFd, ns)) {
                    configure(there, there.linkIndex(dev), dev, cfg, addresses);
                } catch (IOException e) {
                    throw withContext(dev, e);
                }
            }
        } finally {
            LibC.INSTANCE.close(nsFd);
        }
    }

    private static IOException withContext(String dev, IOException e) {
        return new IOException("cannot configure the kernel side of TAP device " + dev + ": " + e.getMessage(), e);
    }

    private static void configure(Rtnetlink nl, int index, String dev, TapConfig cfg, Address[] addresses)
            throws IOException {
        nl.setMtu(index, cfg.mtu(), TX_QUEUE_LENGTH, dev);
        for (Address a : addresses) {
            // IPv6: usable at once, without the second or so of duplicate address detection.
            int flags = a.bytes.length == 16 ? NetlinkMessage.IFA_F_NODAD : 0;
            nl.replaceAddress(index, a.bytes, a.prefixLength, flags, a.text + " dev " + dev);
        }
        nl.setUp(index, dev);
    }

    /**
     * A descriptor of the namespace {@code ns}: a name made by {@code ip netns add}, a PID (that process's
     * namespace) or an absolute path to a namespace file.
     */
    private static int openNamespace(String dev, String ns) throws IOException {
        Path path = namespacePath(ns);
        int fd = LibC.INSTANCE.open(path.toString(), O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) {
            int errno = LibC.errno();
            String hint = Files.exists(path) ? "" : ns.chars().allMatch(Character::isDigit)
                    ? " (no process " + ns + ")"
                    : " (network namespace '" + ns + "' does not exist: create it with `ip netns add " + ns + "`)";
            throw new IOException("cannot move TAP device " + dev + " into network namespace '" + ns + "': cannot open "
                    + path + ": " + LibC.errnoMessage(errno) + hint);
        }
        return fd;
    }

    static Path namespacePath(String ns) {
        if (ns.startsWith("/")) {
            return Paths.get(ns);
        }
        if (!ns.isEmpty() && ns.chars().allMatch(Character::isDigit)) {
            return Paths.get("/proc", ns, "ns", "net");
        }
        Path run = Paths.get("/run/netns", ns);
        Path varRun = Paths.get("/var/run/netns", ns);
        return Files.exists(run) || !Files.exists(varRun) ? run : varRun;
    }

    /** A kernel address: its bytes in network order, prefix length and the text it came from. */
    record Address(byte[] bytes, int prefixLength, String text) {
    }

    private static Address[] parse(String dev, TapConfig cfg) throws IOException {
        Address[] out = new Address[cfg.kernelAddresses().size()];
        for (int i = 0; i < out.length; i++) {
            String cidr = cfg.kernelAddresses().get(i);
            try {
                out[i] = parseCidr(cidr);
            } catch (IllegalArgumentException e) {
                throw new IOException("cannot configure the kernel side of TAP device " + dev + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** Parses {@code 198.18.0.1/24} or {@code fd00::1/64}: a literal address (never a name to look up). */
    static Address parseCidr(String cidr) {
        int slash = cidr.indexOf('/');
        String addr = slash < 0 ? "" : cidr.substring(0, slash);
        boolean v6 = addr.indexOf(':') >= 0;
        boolean literal = !addr.isEmpty() && addr.chars().allMatch(ch -> v6
                ? Character.digit(ch, 16) >= 0 || ch == ':' || ch == '.'
                : (ch >= '0' && ch <= '9') || ch == '.');
        if (!literal) {
            throw new IllegalArgumentException("bad kernel address '" + cidr + "': expected an IPv4 or IPv6 address"
                    + " with a prefix length, e.g. 198.18.0.1/24 or fd00::1/64");
        }
        byte[] bytes = v6 ? parseV6(addr) : parseV4(addr);
        if (bytes == null) {
            throw new IllegalArgumentException("bad kernel address '" + cidr + "'");
        }
        int prefix;
        try {
            prefix = Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            prefix = -1;
        }
        if (prefix < 0 || prefix > bytes.length * 8) {
            throw new IllegalArgumentException("bad prefix length in kernel address '" + cidr + "': 0 to "
                    + bytes.length * 8 + " for " + (v6 ? "IPv6" : "IPv4"));
        }
        return new Address(bytes, prefix, cidr);
    }

    /** Four decimal numbers 0..255 separated by dots, or null. */
    private static byte[] parseV4(String addr) {
        String[] parts = addr.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (parts[i].isEmpty() || parts[i].length() > 3 || Integer.parseInt(parts[i]) > 255) {
                return null;
            }
            b[i] = (byte) Integer.parseInt(parts[i]);
        }
        return b;
    }

    /** An IPv6 literal (the JDK parses a string with a colon as a literal and never looks it up), or null. */
    private static byte[] parseV6(String addr) {
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(addr).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
        if (bytes.length == 4) { // ::ffff:a.b.c.d comes back as IPv4; the kernel wants the 16 bytes
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(bytes, 0, mapped, 12, 4);
            bytes = mapped;
        }
        return bytes;
    }
}
