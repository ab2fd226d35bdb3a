package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The 10-byte {@code struct virtio_net_hdr} (virtio 1.x §5.1.6; Linux {@code include/uapi/linux/virtio_net.h})
 * that a TAP device opened with {@code IFF_VNET_HDR} puts before every frame, in both directions. It carries
 * checksum and segmentation offload: a frame may be a TCP "super-segment" of up to 64 KiB
 * ({@code gso_type} TCPV4, cut into {@code gso_size} pieces by whoever needs to), and its transport checksum
 * may be left partial ({@link #F_NEEDS_CSUM}: only the pseudo-header sum is filled in). Fields are
 * little-endian (the host order of the x86 and arm64 machines this runs on; TUNSETVNETLE is not used).
 */
public final class VirtioNetHeader {
    /** Header length without the mergeable-buffers field. */
    public static final int LENGTH = 10;
    /** flags: the checksum at csum_start + csum_offset is partial and must be completed. */
    public static final int F_NEEDS_CSUM = 1;
    /** flags: the checksum was verified by the sender. */
    public static final int F_DATA_VALID = 2;
    /** gso_type: not a super-segment. */
    public static final int GSO_NONE = 0;
    /** gso_type: a TCP over IPv4 super-segment. */
    public static final int GSO_TCPV4 = 1;
    /** gso_type: a TCP over IPv6 super-segment. */
    public static final int GSO_TCPV6 = 4;
    /** gso_type bit: the segment has ECN's CWR set. */
    public static final int GSO_ECN = 0x80;

    private VirtioNetHeader() {
    }

    /** flags: {@link #F_NEEDS_CSUM}, {@link #F_DATA_VALID}. */
    public static int flags(ByteBuf b, int o) {
        return b.getUnsignedByte(o);
    }

    /** gso_type: {@link #GSO_NONE}, {@link #GSO_TCPV4}, {@link #GSO_TCPV6}, possibly with {@link #GSO_ECN}. */
    public static int gsoType(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 1);
    }

    /** hdr_len: the length of the headers of the frame (Ethernet to transport). */
    public static int hdrLen(ByteBuf b, int o) {
        return b.getUnsignedShortLE(o + 2);
    }

    /** gso_size: the payload of each segment a super-segment is cut into. */
    public static int gsoSize(ByteBuf b, int o) {
        return b.getUnsignedShortLE(o + 4);
    }

    /** csum_start: where the partial checksum's range begins, from the start of the Ethernet frame. */
    public static int csumStart(ByteBuf b, int o) {
        return b.getUnsignedShortLE(o + 6);
    }

    /** csum_offset: the checksum field's offset from csum_start. */
    public static int csumOffset(ByteBuf b, int o) {
        return b.getUnsignedShortLE(o + 8);
    }

    /** Writes a header that asks for nothing (no offload). */
    public static void writeNone(ByteBuf b, int o) {
        b.setLong(o, 0);
        b.setShort(o + 8, 0);
    }

    /**
     * Writes a header for a frame whose transport checksum is partial.
     *
     * @param csumStart offset of the transport header from the start of the Ethernet frame
     * @param csumOffset offset of the checksum field within the transport header
     * @param gsoType {@link #GSO_NONE} or {@link #GSO_TCPV4}
     * @param gsoSize the payload size of each segment when {@code gsoType} is not none
     * @param hdrLen length of all headers (Ethernet to transport) of the frame
     */
    public static void writePartial(ByteBuf b, int o, int csumStart, int csumOffset, int gsoType, int gsoSize,
                                    int hdrLen) {
        b.setByte(o, F_NEEDS_CSUM);
        b.setByte(o + 1, gsoType);
        b.setShortLE(o + 2, hdrLen);
        b.setShortLE(o + 4, gsoSize);
        b.setShortLE(o + 6, csumStart);
        b.setShortLE(o + 8, csumOffset);
    }
}
