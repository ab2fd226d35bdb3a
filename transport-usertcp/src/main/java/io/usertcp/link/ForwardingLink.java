package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.SynFilter;

import java.io.IOException;

/**
 * A {@link Link} that passes everything to another one: the base of the wrappers ({@link FaultyLink},
 * {@link CaptureLink}), which override only what they change.
 */
public abstract class ForwardingLink implements Link {
    /** The wrapped link. */
    protected final Link inner;

    /** Wraps {@code inner}. */
    protected ForwardingLink(Link inner) {
        this.inner = inner;
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public MacAddress macAddress() {
        return inner.macAddress();
    }

    @Override
    public int fd() {
        return inner.fd();
    }

    @Override
    public int vnetHeaderLength() {
        return inner.vnetHeaderLength();
    }

    @Override
    public long receiveDrops() {
        return inner.receiveDrops();
    }

    @Override
    public boolean filterSyns(SynFilter filter) {
        return inner.filterSyns(filter);
    }

    @Override
    public boolean tcpSegmentationOffload() {
        return inner.tcpSegmentationOffload();
    }

    @Override
    public ByteBuf receive(ByteBufAllocator alloc) throws IOException {
        return inner.receive(alloc);
    }

    @Override
    public boolean transmit(ByteBuf frame) throws IOException {
        return inner.transmit(frame);
    }

    @Override
    public void recycle(ByteBuf frame) {
        inner.recycle(frame);
    }

    @Override
    public void close() {
        inner.close();
    }
}
