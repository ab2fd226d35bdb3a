package io.usertcp.link;

import io.usertcp.wire.MacAddress;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * How to open a Linux TAP device: its name, MTU and MAC, and, optionally, how to set up the kernel's side
 * (as the seed's {@code SetLinkUp} and {@code SetRoute} do): bring the link up and give the kernel an
 * address and prefix on it, which also gives the kernel its route to the stack.
 *
 * <p>A {@code TapConfig} is a {@link LinkFactory}: pass it to
 * {@link io.usertcp.stack.StackConfig.Builder#link(LinkFactory)}.
 */
public final class TapConfig implements LinkFactory {
    private final String name;
    private final int mtu;
    private final MacAddress mac;
    private final List<String> kernelAddresses;
    private final boolean configureKernelSide;
    private final String namespace;
    private final boolean offload;
    private final int receiveRing;
    private final boolean receiveRingDefault; // neither the builder nor the system property chose it

    private TapConfig(Builder b) {
        this.offload = b.offload;
        this.receiveRing = b.receiveRing >= 0 ? b.receiveRing : defaultReceiveRing(b.mtu, 1);
        this.receiveRingDefault = b.receiveRing < 0;
        this.name = b.name;
        this.mtu = b.mtu;
        this.mac = b.mac != null ? b.mac : MacAddress.randomLocal();
        this.kernelAddresses = Collections.unmodifiableList(new ArrayList<>(b.kernelAddresses));
        this.configureKernelSide = b.configureKernelSide;
        this.namespace = b.namespace;
    }

    /** The most slots a receive ring may have. */
    public static final int MAX_RECEIVE_RING = 1 << 17;

    /**
     * Memory of a device's receive rings unless {@link Builder#receiveRing(int)} or the system property
     * {@code io.usertcp.tap.receiveRing} (slots per queue; 0 turns the ring off: frames are read with read(2)) say
     * otherwise: 32 MiB, 16384 slots at MTU 1500, shared among the queues of a multi-queue device (at least 256 slots
     * each). On by default since the stack answers a SYN flood selectively (issue #10): reading without a system
     * call per frame is what lets one loop keep up with a flood and keep the device's queue short
     * (bench/README.md); on the echo benchmarks it measured the same as read(2). 16384 slots are the depth the
     * stack gives tun's own queue: a burst of 10,000 connects cold (before the JIT) without a SYN lost, where
     * 8192 lost ~1,400 (bench/burst.sh).
     */
    public static final int DEFAULT_RECEIVE_RING_BYTES = 32 << 20;
    /** Slots from the system property {@code io.usertcp.tap.receiveRing}, or -1 (not set). */
    private static final int RECEIVE_RING_PROPERTY = Math.min(
            io.netty.util.internal.SystemPropertyUtil.getInt("io.usertcp.tap.receiveRing", -1), MAX_RECEIVE_RING);

    /**
     * The receive ring's slots for each of {@code queues} queues at {@code mtu} when neither the builder nor the
     * system property set them.
     */
    static int defaultReceiveRing(int mtu, int queues) {
        if (RECEIVE_RING_PROPERTY >= 0) {
            return RECEIVE_RING_PROPERTY;
        }
        int slots = DEFAULT_RECEIVE_RING_BYTES / PacketRing.slotSize(mtu, 10) / Math.max(1, queues);
        return Math.max(256, Math.min(16384, slots));
    }

    /** A builder for the device called {@code name} (at most 15 characters, as Linux allows). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** The interface name, e.g. {@code tap0}. */
    public String name() {
        return name;
    }

    /** The link MTU (IP packet size), 1500 by default. */
    public int mtu() {
        return mtu;
    }

    /** The stack's own MAC address on this link (a random locally administered one by default). */
    public MacAddress mac() {
        return mac;
    }

    /** Addresses with prefix ({@code 198.18.0.1/24}) to give the kernel's side of the device. */
    public List<String> kernelAddresses() {
        return kernelAddresses;
    }

    /** Whether opening the device also brings it up and sets its MTU and kernel addresses. */
    public boolean configureKernelSide() {
        return configureKernelSide;
    }

    /** The network namespace to move the device into before configuring it, or {@code null}. */
    public String namespace() {
        return namespace;
    }

    /** Whether checksum and TCP segmentation offload (IFF_VNET_HDR, TUNSETOFFLOAD) are asked for. */
    public boolean offload() {
        return offload;
    }

    /** Slots of the receive ring ({@link Builder#receiveRing(int)}), 0 when frames are read with read(2). */
    public int receiveRing() {
        return receiveRing;
    }

    @Override
    public Link open() throws IOException {
        return TapDevice.open(this);
    }

    /**
     * Queue {@code queue} of a multi-queue TAP device ({@code IFF_MULTI_QUEUE}): queue 0 creates (or attaches to)
     * the device and sets up the kernel's side as {@link #open()} does; the others attach to it. One queue is
     * {@link #open()}.
     */
    @Override
    public Link openQueue(int queue, int queues) throws IOException {
        if (queues == 1) {
            return TapDevice.open(this);
        }
        // The default ring memory is the device's: each queue gets its share.
        return TapDevice.openQueue(receiveRingDefault ? withReceiveRing(defaultReceiveRing(mtu, queues)) : this,
                queue);
    }

    /** This configuration with a receive ring of {@code slots} per queue. */
    private TapConfig withReceiveRing(int slots) {
        Builder b = new Builder(name).mtu(mtu).mac(mac).receiveRing(slots).offload(offload);
        b.kernelAddresses.addAll(kernelAddresses);
        b.configureKernelSide = configureKernelSide;
        b.namespace = namespace;
        return new TapConfig(b);
    }

    @Override
    public String toString() {
        return "TapConfig{" + name + ", mtu=" + mtu + ", mac=" + mac + ", kernel=" + kernelAddresses
                + (namespace != null ? ", netns=" + namespace : "") + '}';
    }

    /** Builds a {@link TapConfig}. */
    public static final class Builder {
        private final String name;
        private int mtu = 1500;
        private MacAddress mac;
        private final List<String> kernelAddresses = new ArrayList<>();
        private boolean configureKernelSide;
        private String namespace;
        private boolean offload = true;
        private int receiveRing = -1; // the default

        private Builder(String name) {
            this.name = validateName(name);
        }

        /** Link MTU, 576..65535 (default 1500). */
        public Builder mtu(int mtu) {
            if (mtu < 576 || mtu > 65535) {
                throw new IllegalArgumentException("MTU must be between 576 and 65535, got " + mtu);
            }
            this.mtu = mtu;
            return this;
        }

        /** The stack's MAC address (default: random, locally administered). */
        public Builder mac(MacAddress mac) {
            this.mac = Objects.requireNonNull(mac, "mac");
            return this;
        }

        /**
         * Gives the kernel side this address with prefix, e.g. {@code 198.18.0.1/24}, and brings the link up.
         * Needs CAP_NET_ADMIN. May be called more than once.
         */
        public Builder kernelAddress(String cidr) {
            Objects.requireNonNull(cidr, "cidr");
            if (!cidr.contains("/")) {
                throw new IllegalArgumentException("kernel address needs a prefix length, e.g. 198.18.0.1/24: '" + cidr + "'");
            }
            kernelAddresses.add(cidr);
            configureKernelSide = true;
            return this;
        }

        /** Brings the link up (and sets its MTU) when opened, even without kernel addresses. */
        public Builder configureKernelSide(boolean configure) {
            this.configureKernelSide = configure;
            return this;
        }

        /**
         * Moves the device into the named network namespace (which must exist) after creating it and before
         * configuring it; the stack keeps its file descriptor and so stays attached. {@code netns} is a name made by
         * {@code ip netns add} (a file under {@code /run/netns}), a process id (that process's namespace) or an
         * absolute path to a namespace file. Configuring the device there enters the namespace with
         * {@code setns(2)} on a thread of its own, which needs CAP_SYS_ADMIN besides CAP_NET_ADMIN.
         */
        public Builder namespace(String netns) {
            this.namespace = netns;
            return this;
        }

        /**
         * Checksum and TCP segmentation offload with the kernel (default on): frames carry a virtio_net_hdr,
         * the kernel hands over and accepts TCP segments of up to 64 KiB, and transport checksums of frames
         * sent to the kernel are left for it to complete. Turn off to exchange only MTU-sized frames.
         */
        public Builder offload(boolean offload) {
            this.offload = offload;
            return this;
        }

        /**
         * Receive frames through a shared-memory ring of {@code slots} frames ({@code PACKET_MMAP} on an
         * {@code AF_PACKET} socket bound to the device) instead of one read(2) per frame; 0 turns it off.
         * The kernel copies each frame into the ring in the sender's context, so a sender that floods the device
         * pays for what it sends (as on a veth pair) instead of filling the device's queue for free, and the
         * event loop takes frames without a system call each (default: on, {@link #DEFAULT_RECEIVE_RING_BYTES}).
         * Costs {@code slots} x 2 KiB of kernel memory at MTU 1500 and needs CAP_NET_RAW; without it the device
         * falls back to read(2) (logged once). Each queue of a multi-queue device has a ring of its own; the rings
         * join one fanout group that gives each the frames of its tun queue ({@code PACKET_FANOUT_QM}).
         */
        public Builder receiveRing(int slots) {
            if (slots < 0 || slots > MAX_RECEIVE_RING) {
                throw new IllegalArgumentException("receiveRing: " + slots + " slots; use 0 (off) to "
                        + MAX_RECEIVE_RING);
            }
            this.receiveRing = slots;
            return this;
        }

        /** The config. */
        public TapConfig build() {
            return new TapConfig(this);
        }

        private static String validateName(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.length() > 15 || !name.matches("[A-Za-z0-9_.\\-]+")) {
                throw new IllegalArgumentException("bad TAP device name '" + name
                        + "': use 1 to 15 characters from letters, digits, '_', '.', '-' (for example tap0)");
            }
            return name;
        }
    }
}
