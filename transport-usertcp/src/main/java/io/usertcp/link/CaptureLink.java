package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;

/**
 * Wraps any {@link Link} and writes every frame it receives and every frame the stack transmits to a
 * {@link PcapngWriter}, as {@code tcpdump -i} would on the device, but also where no device exists (a
 * {@link MemoryLink}, a simulation). The virtio-net header that precedes frames on a TAP device is not written.
 *
 * <p>Where it sits decides what it shows: around a {@link FaultyLink} it records what the stack sent, including the
 * frames the fault model then drops; inside one, what went on the wire.
 */
public final class CaptureLink extends ForwardingLink {
    private final PcapngWriter writer;
    private final int iface;
    private final boolean ownsWriter;

    /**
     * Captures {@code inner}'s frames into {@code writer} as interface {@code name}. If {@code ownsWriter}, closing
     * the link closes the writer.
     */
    public CaptureLink(Link inner, PcapngWriter writer, String name, boolean ownsWriter) {
        super(inner);
        this.writer = writer;
        this.iface = writer.addInterface(name);
        this.ownsWriter = ownsWriter;
    }

    /** The writer this link captures into (the stack adds its loopback interface to the same file). */
    public PcapngWriter writer() {
        return writer;
    }

    @Override
    public ByteBuf receive(ByteBufAllocator alloc) throws IOException {
        ByteBuf f = inner.receive(alloc);
        if (f != null) {
            capture(f, false);
        }
        return f;
    }

    @Override
    public boolean transmit(ByteBuf frame) throws IOException {
        capture(frame, true);
        return inner.transmit(frame);
    }

    @Override
    public void close() {
        try {
            inner.close();
        } finally {
            if (ownsWriter) {
                writer.close();
            } else {
                writer.flush();
            }
        }
    }

    private void capture(ByteBuf f, boolean outbound) {
        int skip = inner.vnetHeaderLength();
        int len = f.readableBytes() - skip;
        if (len > 0) {
            writer.write(iface, f, f.readerIndex() + skip, len, outbound);
        }
    }
}
