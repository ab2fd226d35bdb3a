package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;

/**
 * Wraps any {@link Link} and applies a seeded {@link FaultModel} to the frames it sends: drop, duplicate,
 * corrupt, and reorder (a frame picked for reordering is held back and sent after the next one). The
 * kernel here has no netem; this fills the gap for tests against real peers, and can sit in a production
 * config to rehearse a bad network.
 */
public final class FaultyLink extends ForwardingLink {
    private final FaultModel faults;
    private final FaultModel inbound;
    private ByteBuf held;

    private FaultyLink(Link inner, FaultModel faults, FaultModel inbound) {
        super(inner);
        this.faults = faults;
        this.inbound = inbound;
    }

    /** A factory that opens {@code inner} and applies {@code outbound} to the frames the stack sends. */
    public static LinkFactory wrap(LinkFactory inner, FaultModel outbound) {
        return wrap(inner, outbound, null);
    }

    /**
     * A factory that opens {@code inner}, applies {@code outbound} to frames sent and {@code inbound} (drop
     * and corruption only; may be null) to frames received.
     */
    public static LinkFactory wrap(LinkFactory inner, FaultModel outbound, FaultModel inbound) {
        return () -> new FaultyLink(inner.open(), outbound, inbound);
    }

    /**
     * Frames are received through the inbound fault model, if any: dropped, or (when corrupted) dropped as
     * well, since frames from the kernel may carry partial checksums that could not reveal the damage.
     */
    @Override
    public ByteBuf receive(ByteBufAllocator alloc) throws IOException {
        for (;;) {
            ByteBuf f = inner.receive(alloc);
            if (f == null || inbound == null) {
                return f;
            }
            if (inbound.copies() > 0 && !inbound.corruptNext()) {
                return f;
            }
            f.release();
        }
    }

    @Override
    public boolean transmit(ByteBuf frame) throws IOException {
        int copies = faults.copies();
        if (copies == 0) {
            return true; // lost on the wire, as far as the sender can tell
        }
        ByteBuf out = frame;
        int vnet = inner.vnetHeaderLength();
        if (faults.corruptNext()) {
            if (vnet > 0 && (frame.getUnsignedByte(frame.readerIndex()) & 1) != 0) {
                // A partial checksum is completed after this point, over the corrupted bytes: nothing could
                // detect the damage, whereas on a real wire the NIC sums first. Model it as the loss it
                // would end as.
                return true;
            }
            out = frame.copy();
            if (!faults.maybeCorruptAfter(out, out.readerIndex() + vnet)) {
                out.release();
                return true;
            }
        }
        try {
            if (faults.extraDelay(1) > 0 && held == null) {
                held = out == frame ? frame.copy() : out.retain(); // sent after the next frame
                return true;
            }
            boolean ok = inner.transmit(out);
            if (copies > 1) {
                inner.transmit(out);
            }
            if (held != null) {
                ByteBuf h = held;
                held = null;
                try {
                    inner.transmit(h);
                } finally {
                    h.release();
                }
            }
            return ok;
        } finally {
            if (out != frame) {
                out.release();
            }
        }
    }

    @Override
    public void close() {
        if (held != null) {
            held.release();
            held = null;
        }
        inner.close();
    }
}
