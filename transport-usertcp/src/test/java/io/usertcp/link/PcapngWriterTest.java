package io.usertcp.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.wire.MacAddress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PcapngWriterTest {
    @TempDir
    Path dir;

    private long now = 1_700_000_000_123_456_789L;

    @Test
    void writesInterfacesAndFramesWithDirectionAndNanosecondTimestamps() throws IOException {
        Path file = dir.resolve("a.pcapng");
        byte[] f1 = frame(60, 1);
        byte[] f2 = frame(1514, 2);
        try (PcapngWriter w = PcapngWriter.create(file, () -> now)) {
            assertThat(w.addInterface("tap0")).isEqualTo(0);
            assertThat(w.addInterface("lo")).isEqualTo(1);
            ByteBuf b1 = Unpooled.wrappedBuffer(new byte[7], f1).readerIndex(7);
            w.write(0, b1, 7, f1.length, true);
            now += 1_500;
            w.write(1, Unpooled.wrappedBuffer(f2), 0, f2.length, false);
            assertThat(w.framesWritten()).isEqualTo(2);
        }
        PcapngReader r = PcapngReader.read(file);
        assertThat(r.application).isEqualTo("usertcp");
        assertThat(r.interfaceNames).containsExactly("tap0", "lo");
        assertThat(r.linkTypes).containsExactly(1, 1);
        assertThat(r.tsResolutions).containsExactly(9, 9);
        assertThat(r.packets).hasSize(2);
        assertThat(r.packets.get(0).data()).isEqualTo(f1);
        assertThat(r.packets.get(0).outbound()).isTrue();
        assertThat(r.packets.get(0).iface()).isEqualTo(0);
        assertThat(r.packets.get(0).timestampNanos()).isEqualTo(1_700_000_000_123_456_789L);
        assertThat(r.packets.get(1).data()).isEqualTo(f2);
        assertThat(r.packets.get(1).outbound()).isFalse();
        assertThat(r.packets.get(1).timestampNanos() - r.packets.get(0).timestampNanos()).isEqualTo(1_500);
    }

    @Test
    void framesBeyondTheSnapLengthAreCutAndKeepTheirLength() throws IOException {
        Path file = dir.resolve("big.pcapng");
        byte[] big = frame(PcapngWriter.SNAP_LENGTH + 1000, 3);
        try (PcapngWriter w = PcapngWriter.create(file, () -> now)) {
            w.addInterface("tap0");
            w.write(0, Unpooled.wrappedBuffer(big), 0, big.length, true);
        }
        PcapngReader.Packet p = PcapngReader.read(file).packets.get(0);
        assertThat(p.originalLength()).isEqualTo(big.length);
        assertThat(p.data()).isEqualTo(Arrays.copyOf(big, PcapngWriter.SNAP_LENGTH));
    }

    @Test
    void manyFramesCrossTheBufferAndAllArrive() throws IOException {
        Path file = dir.resolve("many.pcapng");
        int n = 3 * PcapngWriter.BUFFER_BYTES / 1000;
        try (PcapngWriter w = PcapngWriter.create(file, () -> now)) {
            w.addInterface("tap0");
            for (int i = 0; i < n; i++) {
                byte[] f = frame(60 + i % 1400, i);
                w.write(0, Unpooled.wrappedBuffer(f), 0, f.length, (i & 1) == 0);
                now += 1000;
            }
        }
        PcapngReader r = PcapngReader.read(file);
        assertThat(r.packets).hasSize(n);
        for (int i = 0; i < n; i += 97) {
            assertThat(r.packets.get(i).data()).isEqualTo(frame(60 + i % 1400, i));
        }
    }

    @Test
    void aFileThatCannotBeCreatedIsNamedInTheError() {
        Path file = dir.resolve("no-such-dir").resolve("x.pcapng");
        assertThatThrownBy(() -> PcapngWriter.create(file)).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("writable");
    }

    @Test
    void writingToAnUnknownInterfaceIsAnApiError() throws IOException {
        try (PcapngWriter w = PcapngWriter.create(dir.resolve("x.pcapng"))) {
            assertThatThrownBy(() -> w.write(0, Unpooled.wrappedBuffer(new byte[60]), 0, 60, true))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addInterface");
        }
    }

    @Test
    void captureLinkRecordsBothDirectionsWithoutTheVirtioHeader() throws IOException {
        Path file = dir.resolve("link.pcapng");
        StubLink inner = new StubLink(10);
        byte[] in = frame(98, 4);
        byte[] out = frame(74, 5);
        try (CaptureLink link = new CaptureLink(inner, PcapngWriter.create(file, () -> now), "tap7", true)) {
            inner.toReceive.add(Unpooled.wrappedBuffer(new byte[10], in));
            ByteBuf got = link.receive(ByteBufAllocator.DEFAULT);
            assertThat(got.readableBytes()).isEqualTo(10 + in.length); // the stack still gets the header
            got.release();
            assertThat(link.receive(ByteBufAllocator.DEFAULT)).isNull();
            ByteBuf o = Unpooled.wrappedBuffer(new byte[10], out);
            assertThat(link.transmit(o)).isTrue();
            assertThat(inner.transmitted).isEqualTo(1);
        }
        assertThat(inner.closed).isTrue();
        PcapngReader r = PcapngReader.read(file);
        assertThat(r.interfaceNames).containsExactly("tap7");
        assertThat(r.packets).extracting(PcapngReader.Packet::outbound).containsExactly(false, true);
        assertThat(r.packets.get(0).data()).isEqualTo(in);
        assertThat(r.packets.get(1).data()).isEqualTo(out);
    }

    private static byte[] frame(int len, int seed) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A link that hands out queued frames and counts what it is given. */
    private static final class StubLink implements Link {
        final ArrayDeque<ByteBuf> toReceive = new ArrayDeque<>();
        final int vnet;
        int transmitted;
        boolean closed;

        StubLink(int vnet) {
            this.vnet = vnet;
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public MacAddress macAddress() {
            return MacAddress.parse("02:00:00:00:00:01");
        }

        @Override
        public int fd() {
            return -1;
        }

        @Override
        public int vnetHeaderLength() {
            return vnet;
        }

        @Override
        public ByteBuf receive(ByteBufAllocator alloc) {
            return toReceive.poll();
        }

        @Override
        public boolean transmit(ByteBuf frame) {
            transmitted++;
            return true;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
