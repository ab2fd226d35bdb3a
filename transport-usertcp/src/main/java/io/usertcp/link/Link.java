package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.SynFilter;

import java.io.IOException;

/**
 * An Ethernet link: the lowest layer of the stack. A link moves whole Ethernet frames (destination MAC,
 * source MAC, EtherType, payload; no preamble and no FCS) between the stack and something else: a TAP
 * device, another in-memory stack, a fault injector.
 *
 * <p>A link is used by exactly one thread, the one that owns the stack. It never blocks: {@link #receive}
 * returns {@code null} when no frame is waiting and {@link #transmit} drops the frame when the device
 * cannot take it (as a NIC would when its queue is full; TCP recovers).
 */
public interface Link extends AutoCloseable {

    /** The largest IP packet this link carries, not counting the 14-byte Ethernet header (e.g. 1500). */
    int mtu();

    /** This end's hardware address: the source address of every frame we send. */
    MacAddress macAddress();

    /**
     * A file descriptor that becomes readable (POLLIN) when {@link #receive} may return a frame, or -1 when
     * the link has no descriptor (an in-memory link is polled by whoever drives it).
     */
    int fd();

    /**
     * Returns the next received frame, or {@code null} when none is waiting. The caller owns the returned
     * buffer and must release it; its readable bytes are exactly one frame.
     *
     * @param alloc the allocator to take the frame's buffer from
     */
    ByteBuf receive(ByteBufAllocator alloc) throws IOException;

    /**
     * Sends one frame: the readable bytes of {@code frame}. The link does not take ownership: the caller
     * still releases the buffer, and the link copies what it needs to keep.
     *
     * @return {@code true} if the frame was handed on, {@code false} if it was dropped
     */
    boolean transmit(ByteBuf frame) throws IOException;

    /**
     * Length of the {@link io.usertcp.wire.VirtioNetHeader} that precedes every frame this link receives and
     * transmits, or 0 when frames are bare. A link with the header accepts partial checksums.
     */
    default int vnetHeaderLength() {
        return 0;
    }

    /**
     * Whether TCP segments larger than the MTU may be sent as one super-frame (TSO through the virtio
     * header); the device or the kernel behind it cuts them as needed.
     */
    default boolean tcpSegmentationOffload() {
        return false;
    }

    /**
     * Gives back a frame from {@link #receive} that nobody retained, so that the next receive can reuse its
     * buffer instead of allocating (a 64 KiB offload buffer per frame would otherwise go to the pool and back).
     * Takes ownership. The default releases it.
     */
    default void recycle(ByteBuf frame) {
        frame.release();
    }

    /**
     * Frames the link dropped on their way in, since it was opened, because the stack did not take them in time
     * (a full receive ring); -1 when the link cannot tell (the kernel counts a full tun queue as the device's TX
     * drops instead: {@code ip -s link}). May make a system call: not for the packet path.
     */
    default long receiveDrops() {
        return -1;
    }

    /**
     * Asks the link to drop the SYNs {@code filter} covers before the stack reads them, in the kernel and at the
     * sender's cost, until the next call ({@link SynFilter#NONE} stops). Frames it drops are neither counted nor
     * captured by the stack. A system call: called at most once per flood-control period, not per frame.
     *
     * @return {@code false} when this link cannot filter (the default) or the kernel refused the program; the
     *         stack then drops what it must itself
     */
    default boolean filterSyns(SynFilter filter) {
        return false;
    }

    /** Releases the device. Idempotent. */
    @Override
    void close();
}
