package io.usertcp.stack;

import io.usertcp.stats.StackStats;
import io.usertcp.stats.MemoryBudget;

import io.usertcp.link.LinkFactory;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Everything a stack is built from: its link, its addresses and routes, and the defaults of its TCP.
 * Immutable; build one with {@link #builder()}.
 */
public final class StackConfig {
    private final LinkFactory link;
    private final List<InterfaceAddress> addresses;
    private final InetAddress gateway;
    private final InetAddress gateway6;
    private final Duration minRto;
    private final Duration timeWait;
    private final int defaultReceiveBuffer;
    private final int defaultSendBuffer;
    private final int maxHalfOpen;
    private final Long seed;
    private final int ttl;
    private final long memoryBudget;
    private final int maxSynBacklog;
    private final int maxOrphans;
    private final int maxTimeWait;
    private final java.nio.file.Path capture;
    private final boolean synCookies;

    private StackConfig(Builder b) {
        this.memoryBudget = b.memoryBudget;
        this.seed = b.seed;
        this.ttl = b.ttl;
        this.link = b.link;
        this.addresses = Collections.unmodifiableList(new ArrayList<>(b.addresses));
        this.gateway = b.gateway;
        this.gateway6 = b.gateway6;
        this.minRto = b.minRto;
        this.timeWait = b.timeWait;
        this.defaultReceiveBuffer = b.defaultReceiveBuffer;
        this.defaultSendBuffer = b.defaultSendBuffer;
        this.maxHalfOpen = b.maxHalfOpen;
        this.maxSynBacklog = b.maxSynBacklog;
        this.maxOrphans = b.maxOrphans;
        this.maxTimeWait = b.maxTimeWait;
        this.capture = b.capture;
        this.synCookies = b.synCookies;
    }

    /**
     * The bytes of buffer memory the stack's TCP queues may hold together before it turns away what the network
     * asks for (see {@link MemoryBudget}); default {@link MemoryBudget#DEFAULT_LIMIT}.
     */
    public long memoryBudget() {
        return memoryBudget;
    }

    /**
     * The most connections the application has closed that may still be finishing (sending their last data and
     * FIN); one more is reset at once, as Linux does past {@code tcp_max_orphans}. Default 16384.
     */
    public int maxOrphans() {
        return maxOrphans;
    }

    /**
     * The most connections in TIME-WAIT; one more closes without it, as Linux does past {@code tcp_max_tw_buckets}.
     * Default 32768.
     */
    public int maxTimeWait() {
        return maxTimeWait;
    }

    /**
     * The pcapng file the stack writes every frame it receives and sends into (the link's, and its own loopback's as
     * a second interface "lo"), or {@code null} for none (the default). Readable by Wireshark, tshark and
     * {@code tcpdump -r}; see {@link io.usertcp.link.PcapngWriter}.
     */
    public java.nio.file.Path capture() {
        return capture;
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The link factory, or {@code null} for a stack without a link (loopback only). */
    public LinkFactory link() {
        return link;
    }

    /** The stack's own addresses with their on-link prefixes. */
    public List<InterfaceAddress> addresses() {
        return addresses;
    }

    /** The IPv4 TTL and IPv6 hop limit of packets the stack sends (RFC 9293 MUST-49; NDP always uses 255). */
    public int ttl() {
        return ttl;
    }

    /** The IPv4 next hop for destinations off every prefix, or {@code null} to send everything on-link. */
    public InetAddress gateway() {
        return gateway;
    }

    /** The IPv6 next hop for destinations off every prefix, or {@code null}. */
    public InetAddress gateway6() {
        return gateway6;
    }

    /** The floor of the retransmission timeout (RFC 6298 (2.4) says 1 s; Linux and we use 200 ms). */
    public Duration minRto() {
        return minRto;
    }

    /** How long a connection stays in TIME-WAIT (2×MSL). */
    public Duration timeWait() {
        return timeWait;
    }

    /** SO_RCVBUF of new connections: the most unread data the stack holds, and so the largest window. */
    public int defaultReceiveBuffer() {
        return defaultReceiveBuffer;
    }

    /** SO_SNDBUF of new connections: the most written but unacknowledged data the stack holds. */
    public int defaultSendBuffer() {
        return defaultSendBuffer;
    }

    /**
     * The most half-open (SYN-RECEIVED) connections across all listeners: records of about 120 bytes each in the
     * listeners' SYN queues. Beyond it, as beyond a listener's own {@link #maxSynBacklog()}, SYNs are answered with
     * SYN cookies (or dropped if {@link #synCookies()} is off).
     */
    public int maxHalfOpen() {
        return maxHalfOpen;
    }

    /**
     * The cap on each listener's SYN queue (as Linux's tcp_max_syn_backlog): a listener holds
     * {@code min(max(backlog, 128), maxSynBacklog)} half-open connections. Default 1024.
     */
    public int maxSynBacklog() {
        return maxSynBacklog;
    }

    /**
     * Whether a listener whose SYN queue is full answers SYNs with SYN cookies (RFC 4987 §3.6) rather than
     * dropping them. Default on.
     */
    public boolean synCookies() {
        return synCookies;
    }

    /** The seed of the stack's secrets (ISN and port keys), or null for one from SecureRandom. */
    public Long seed() {
        return seed;
    }

    /** An address of the stack with the length of its on-link prefix. */
    public static final class InterfaceAddress {
        private final InetAddress address;
        private final int prefixLength;

        public InterfaceAddress(InetAddress address, int prefixLength) {
            this.address = Objects.requireNonNull(address, "address");
            int max = address instanceof Inet4Address ? 32 : 128;
            if (prefixLength < 0 || prefixLength > max) {
                throw new IllegalArgumentException("prefix length of " + address.getHostAddress()
                        + " must be 0.." + max + ", got " + prefixLength);
            }
            this.prefixLength = prefixLength;
        }

        /**
         * Parses {@code 198.18.0.2/24} or {@code 198.18.0.2} (the prefix then defaults to {@code defaultPrefix}).
         * Only literal addresses are accepted: no name is looked up.
         */
        public static InterfaceAddress parse(String text, int defaultPrefix) {
            String t = text.trim();
            int slash = t.indexOf('/');
            String addr = slash < 0 ? t : t.substring(0, slash);
            InetAddress a = parseLiteral(addr);
            int prefix;
            if (slash < 0) {
                prefix = a instanceof Inet4Address ? defaultPrefix : Math.max(defaultPrefix, 64);
            } else {
                try {
                    prefix = Integer.parseInt(t.substring(slash + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad prefix length in '" + text + "'", e);
                }
            }
            return new InterfaceAddress(a, prefix);
        }

        /** The address. */
        public InetAddress address() {
            return address;
        }

        /** The on-link prefix length. */
        public int prefixLength() {
            return prefixLength;
        }

        @Override
        public String toString() {
            return address.getHostAddress() + "/" + prefixLength;
        }
    }

    /** Parses a literal IPv4 or IPv6 address without any name lookup. */
    public static InetAddress parseLiteral(String text) {
        String t = text.trim();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        boolean v4 = t.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = t.contains(":") && t.matches("[0-9A-Fa-f:.%a-zA-Z0-9]+");
        if (!v4 && !v6) {
            throw new IllegalArgumentException("not an IP address: '" + text + "' (use a literal such as 198.18.0.2 or fd00::2)");
        }
        if (v4) {
            for (String o : t.split("\\.")) {
                if (Integer.parseInt(o) > 255) {
                    throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
                }
            }
        }
        try {
            return InetAddress.getByName(t); // a literal: no lookup happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: '" + text + "'", e);
        }
    }

    /** Builds a {@link StackConfig}. */
    public static final class Builder {
        private LinkFactory link;
        private final List<InterfaceAddress> addresses = new ArrayList<>();
        private InetAddress gateway;
        private InetAddress gateway6;
        private int ttl = 64;
        private Duration minRto = Duration.ofMillis(200);
        private Duration timeWait = Duration.ofSeconds(60);
        private int defaultReceiveBuffer = 1 << 20;
        private int defaultSendBuffer = 1 << 20;
        private int maxHalfOpen = 4096;
        private Long seed;
        private long memoryBudget = MemoryBudget.DEFAULT_LIMIT;

        /**
         * The stack-wide memory budget of its TCP queues in bytes (default half of the JVM's direct memory, at
         * least 64 MiB): past it, SYNs, out-of-order data and more data for connections that already hold some
         * are dropped and counted ({@code StackStats.dropTcpMemory}) and peers retransmit.
         */
        public Builder memoryBudget(long bytes) {
            if (bytes < 64 * 1024) {
                throw new IllegalArgumentException("memoryBudget " + bytes + " is below 64 KiB: the stack could not "
                        + "hold one connection's window; give at least 65536 (default: half the direct memory)");
            }
            this.memoryBudget = bytes;
            return this;
        }
        private int maxSynBacklog = 1024;
        private int maxOrphans = 16384;
        private int maxTimeWait = 32768;
        private java.nio.file.Path capture;

        /**
         * Writes every frame the stack receives and sends into {@code file} (pcapng, created or truncated when the
         * stack starts); see {@link StackConfig#capture()}. Null for no capture.
         */
        public Builder capture(java.nio.file.Path file) {
            this.capture = file;
            return this;
        }

        /** See {@link StackConfig#maxOrphans()}. */
        public Builder maxOrphans(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxOrphans must not be negative: " + n);
            }
            this.maxOrphans = n;
            return this;
        }

        /** See {@link StackConfig#maxTimeWait()}; 0 closes every connection without TIME-WAIT. */
        public Builder maxTimeWait(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxTimeWait must not be negative: " + n);
            }
            this.maxTimeWait = n;
            return this;
        }
        private boolean synCookies = true;

        private Builder() {
        }

        /**
         * Seeds the stack's secrets (ISN and ephemeral-port keys, timestamp offsets) so that a simulation in
         * virtual time replays exactly. Never set it in production: RFC 6528 wants the ISN key secret.
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The link the stack sends and receives frames on, e.g. a {@link io.usertcp.link.TapConfig}. */
        public Builder link(LinkFactory link) {
            this.link = link;
            return this;
        }

        /** Adds an address, {@code 198.18.0.2/24} (a bare IPv4 address gets /24, IPv6 /64). */
        public Builder address(String cidr) {
            addresses.add(InterfaceAddress.parse(cidr, 24));
            return this;
        }

        /** Adds an address with its on-link prefix length. */
        public Builder address(InetAddress address, int prefixLength) {
            addresses.add(new InterfaceAddress(address, prefixLength));
            return this;
        }

        /**
         * The default gateway of the address's family (must lie within one of the on-link prefixes, or be
         * link-local for IPv6); call once per family to set both.
         */
        public Builder gateway(String address) {
            InetAddress a = parseLiteral(address);
            if (a instanceof java.net.Inet6Address) {
                this.gateway6 = a;
            } else {
                this.gateway = a;
            }
            return this;
        }

        /** The IPv4 TTL and IPv6 hop limit of what the stack sends, 1..255 (default 64, as Linux). */
        public Builder ttl(int ttl) {
            if (ttl < 1 || ttl > 255) {
                throw new IllegalArgumentException("ttl must be 1..255: " + ttl);
            }
            this.ttl = ttl;
            return this;
        }

        /** The retransmission timeout floor (default 200 ms). */
        public Builder minRto(Duration d) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("minRto must be positive: " + d);
            }
            this.minRto = d;
            return this;
        }

        /** TIME-WAIT length (default 60 s, 2×MSL with MSL = 30 s). Zero disables TIME-WAIT. */
        public Builder timeWait(Duration d) {
            if (d.isNegative()) {
                throw new IllegalArgumentException("timeWait must not be negative: " + d);
            }
            this.timeWait = d;
            return this;
        }

        /** Default SO_RCVBUF of connections (default 1 MiB). */
        public Builder defaultReceiveBuffer(int bytes) {
            this.defaultReceiveBuffer = checkBuffer(bytes, "receive");
            return this;
        }

        /** Default SO_SNDBUF of connections (default 1 MiB). */
        public Builder defaultSendBuffer(int bytes) {
            this.defaultSendBuffer = checkBuffer(bytes, "send");
            return this;
        }

        /** The most half-open (SYN-RECEIVED) connections across all listeners (default 4096). */
        public Builder maxHalfOpen(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxHalfOpen must be at least 1: " + n);
            }
            this.maxHalfOpen = n;
            return this;
        }

        /**
         * The cap on each listener's SYN queue (default 1024): a listener holds min(max(backlog, 128), this)
         * half-open connections, and answers further SYNs with SYN cookies.
         */
        public Builder maxSynBacklog(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxSynBacklog must be at least 1: " + n);
            }
            this.maxSynBacklog = n;
            return this;
        }

        /**
         * SYN cookies (RFC 4987 §3.6) for listeners whose SYN queue is full (default on). Off, such SYNs are
         * dropped, and a SYN flood can keep every listener from taking connections.
         */
        public Builder synCookies(boolean on) {
            this.synCookies = on;
            return this;
        }

        private static int checkBuffer(int bytes, String what) {
            if (bytes < 2048 || bytes > (1 << 30)) {
                throw new IllegalArgumentException(what + " buffer must be 2048 .. 1 GiB bytes, got " + bytes);
            }
            return bytes;
        }

        /** The config. */
        public StackConfig build() {
            if (link != null && addresses.isEmpty()) {
                throw new IllegalArgumentException("a stack with a link needs at least one address: call address(\"198.18.0.2/24\")");
            }
            return new StackConfig(this);
        }
    }
}
