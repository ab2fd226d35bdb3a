package io.usertcp.ip;

import io.netty.buffer.ByteBuf;

/**
 * Fragmentation at the source, shared by both families (RFC 791 §3.2, RFC 8200 §4.5): the datagram's transport
 * checksum is completed over the whole datagram (a partial checksum cannot be offloaded across fragments), then
 * its payload is cut into pieces of a multiple of 8 bytes (but the last), each emitted by the family, which
 * writes its own headers (IPv4 flags and offset, or an IPv6 Fragment header).
 */
abstract class Fragmenter {
    /**
     * Cuts the {@code l4Length} bytes at {@code l4} of {@code datagram} into pieces of at most {@code perFragment}
     * bytes (a multiple of 8) and emits each. Releases {@code datagram}.
     */
    final void fragment(ByteBuf datagram, int l4, int l4Length, int csumOffset, int perFragment) {
        try {
            if (csumOffset >= 0) {
                ChecksumOffload.complete(datagram, l4, l4Length, csumOffset);
            }
            for (int off = 0; off < l4Length; off += perFragment) {
                int n = Math.min(perFragment, l4Length - off);
                emit(datagram, l4 + off, off, n, off + n < l4Length);
            }
        } finally {
            datagram.release();
        }
    }

    /**
     * Builds and sends one fragment: {@code length} bytes of the datagram at {@code from}, which sit at
     * {@code offset} bytes into its payload; {@code more} unless it is the last.
     */
    abstract void emit(ByteBuf datagram, int from, int offset, int length, boolean more);
}
