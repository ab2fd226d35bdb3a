package io.usertcp.fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.link.Link;
import io.usertcp.wire.MacAddress;

import java.util.ArrayList;
import java.util.List;

/**
 * The victim's link in the fuzz targets: a fixed MAC (so that every run of an input is the same), optionally a
 * virtio-net header and TSO as a TAP with {@code IFF_VNET_HDR} has, nothing to receive (the target calls
 * {@code Stack.input} itself), and a copy of every transmitted frame for the target's scripted peer to read.
 */
final class CaptureLink implements Link {
    static final int MTU = 1500;
    private final MacAddress mac;
    private final int vnet;
    private final boolean tso;
    /** Frames sent since the last {@link #take()}, virtio header included. */
    private List<byte[]> sent = new ArrayList<>();
    /** Frames longer than the MTU allows that a link without TSO was asked to send (a stack bug). */
    int oversize;
    private boolean closed;

    CaptureLink(long mac, int vnet, boolean tso) {
        this.mac = MacAddress.of(mac);
        this.vnet = vnet;
        this.tso = tso;
    }

    /** The frames sent since the last call. */
    List<byte[]> take() {
        List<byte[]> out = sent;
        sent = new ArrayList<>();
        return out;
    }

    @Override
    public int mtu() {
        return MTU;
    }

    @Override
    public MacAddress macAddress() {
        return mac;
    }

    @Override
    public int fd() {
        return -1;
    }

    @Override
    public ByteBuf receive(ByteBufAllocator alloc) {
        return null;
    }

    @Override
    public boolean transmit(ByteBuf frame) {
        if (closed) {
            return false;
        }
        byte[] b = new byte[frame.readableBytes()];
        frame.getBytes(frame.readerIndex(), b);
        if (!tso && b.length - vnet > MTU + Frames.ETH) {
            oversize++;
        }
        sent.add(b);
        return true;
    }

    @Override
    public int vnetHeaderLength() {
        return vnet;
    }

    @Override
    public boolean tcpSegmentationOffload() {
        return tso;
    }

    @Override
    public void close() {
        closed = true;
        sent = new ArrayList<>();
    }
}
