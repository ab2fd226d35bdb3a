package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.VirtioNetHeader;

/**
 * The transport checksum on the way out, for both families: left to the kernel behind a TAP with offload
 * (virtio {@code NEEDS_CSUM}, {@code CHECKSUM_PARTIAL}; cut by {@code gso_size} when a TCP segment is larger), or
 * completed here. Either way the checksum field already holds the folded pseudo-header sum.
 */
final class ChecksumOffload {
    private ChecksumOffload() {
    }

    /**
     * Completes the checksum at {@code csumOffset} of the transport header at {@code l4}: the field holds the
     * pseudo-header sum, so summing the segment finishes it. A result of 0 goes out as 0xffff, its equal in one's
     * complement: for UDP 0 means "none" (RFC 768).
     */
    static void complete(ByteBuf frame, int l4, int l4Length, int csumOffset) {
        int c = Checksum.finish(Checksum.add(frame, l4, l4Length, 0));
        frame.setShort(l4 + csumOffset, c == 0 ? 0xffff : c);
    }

    /**
     * Completes the checksum, or leaves it (and the segmentation by {@code gsoSize}) to the kernel when the frame
     * has a virtio header and leaves the host. Nothing to do when {@code csumOffset} is negative.
     *
     * @param vnet                  bytes of virtio header before the Ethernet header (0: no offload)
     * @param ipHeaderLength        the IP header length (the transport header follows it)
     * @param transportHeaderLength the transport header length (TCP: with options), handed over by the transport
     * @param gsoType               {@link VirtioNetHeader#GSO_TCPV4} or {@link VirtioNetHeader#GSO_TCPV6}
     */
    static void apply(ByteBuf frame, int vnet, boolean loopback, int ipHeaderLength, int l4Length, int csumOffset,
                      int gsoSize, int transportHeaderLength, int gsoType) {
        if (csumOffset < 0) {
            return;
        }
        int l4 = vnet + Ethernet.HEADER_LENGTH + ipHeaderLength;
        if (vnet > 0 && !loopback) {
            // Leave the partial checksum for the kernel (CHECKSUM_PARTIAL); cut by gso_size if large.
            boolean gso = gsoSize > 0 && l4Length - transportHeaderLength > gsoSize;
            int start = Ethernet.HEADER_LENGTH + ipHeaderLength;
            VirtioNetHeader.writePartial(frame, 0, start, csumOffset, gso ? gsoType : VirtioNetHeader.GSO_NONE,
                    gso ? gsoSize : 0, start + transportHeaderLength);
        } else {
            complete(frame, l4, l4Length, csumOffset);
        }
    }
}
