package io.usertcp.link;

import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongSupplier;

/**
 * Writes Ethernet frames to a capture file in the pcapng format (draft-ietf-opsawg-pcapng), readable by Wireshark,
 * {@code tshark} and {@code tcpdump -r}: one Section Header Block, one Interface Description Block per interface
 * ({@link #addInterface}), and one Enhanced Packet Block per frame with its direction (inbound or outbound) and a
 * timestamp in nanoseconds ({@code if_tsresol} 9).
 *
 * <p>Owned by one thread, the stack's. Frames are copied into a direct buffer of {@value #BUFFER_BYTES} bytes that is
 * written to the file when full, at least every {@value #FLUSH_INTERVAL_MILLIS} ms of capture time, and at
 * {@link #flush()} and {@link #close()}: writing a frame allocates nothing. A frame longer than the snap length
 * ({@value #SNAP_LENGTH} bytes, enough for a segmentation-offload super-frame) is cut to it, with its original length
 * kept in the block. A write that fails (disk full) stops the capture, never the stack: {@link #failure()} says why.
 */
public final class PcapngWriter implements AutoCloseable {
    /** LINKTYPE_ETHERNET. */
    public static final int LINKTYPE_ETHERNET = 1;
    /** The most bytes of one frame the file keeps. */
    public static final int SNAP_LENGTH = 262_144;

    static final int BUFFER_BYTES = 1 << 20;
    static final long FLUSH_INTERVAL_MILLIS = 100;

    static final int BLOCK_SHB = 0x0A0D0D0A;
    static final int BLOCK_IDB = 0x00000001;
    static final int BLOCK_EPB = 0x00000006;
    static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;
    static final int OPT_END = 0;
    static final int OPT_SHB_USERAPPL = 4;
    static final int OPT_IF_NAME = 2;
    static final int OPT_IF_TSRESOL = 9;
    static final int OPT_EPB_FLAGS = 2;
    /** epb_flags bits 0-1: the direction of the frame. */
    static final int FLAGS_INBOUND = 1;
    static final int FLAGS_OUTBOUND = 2;

    private final FileChannel file;
    private final LongSupplier epochNanos;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private int interfaces;
    private long lastFlush;
    private IOException failure;
    private long framesWritten;
    private boolean closed;

    private PcapngWriter(FileChannel file, LongSupplier epochNanos) {
        this.file = file;
        this.epochNanos = epochNanos;
        writeSectionHeader();
    }

    /**
     * Creates (or truncates) {@code path} and writes the section header. Timestamps are wall-clock time.
     *
     * @throws IOException if the file cannot be created; the message names the file
     */
    public static PcapngWriter create(Path path) throws IOException {
        long wallAtStart = System.currentTimeMillis() * 1_000_000L;
        long monoAtStart = System.nanoTime();
        return create(path, () -> wallAtStart + (System.nanoTime() - monoAtStart));
    }

    /**
     * Creates (or truncates) {@code path}, with timestamps (nanoseconds since the Unix epoch) from {@code epochNanos}:
     * a simulation passes its virtual clock, so that its capture shows virtual time.
     */
    public static PcapngWriter create(Path path, LongSupplier epochNanos) throws IOException {
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            return new PcapngWriter(ch, epochNanos);
        } catch (IOException e) {
            throw new IOException("cannot create the capture file " + path + ": " + e.getMessage()
                    + " (check that its directory exists and is writable)", e);
        }
    }

    /**
     * Adds an Ethernet interface named {@code name} (e.g. the TAP device's name, or "lo" for the stack's own
     * loopback) and returns its index for {@link #write}.
     */
    public int addInterface(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int nameOpt = 4 + pad4(n.length);
        int len = 8 + 8 + nameOpt + 8 /* tsresol */ + 4 /* end */ + 4;
        ensureRoom(len);
        buf.putInt(BLOCK_IDB).putInt(len);
        buf.putShort((short) LINKTYPE_ETHERNET).putShort((short) 0).putInt(SNAP_LENGTH);
        buf.putShort((short) OPT_IF_NAME).putShort((short) n.length).put(n);
        padTo4(n.length);
        buf.putShort((short) OPT_IF_TSRESOL).putShort((short) 1).put((byte) 9).put((byte) 0).putShort((short) 0);
        buf.putShort((short) OPT_END).putShort((short) 0);
        buf.putInt(len);
        return interfaces++;
    }

    /**
     * Writes one frame: {@code length} bytes of {@code frame} from {@code offset} (absolute, the Ethernet header
     * first), seen on interface {@code iface} going {@code outbound} (sent by the stack) or inbound (received).
     */
    public void write(int iface, ByteBuf frame, int offset, int length, boolean outbound) {
        if (closed || failure != null) {
            return;
        }
        if (iface < 0 || iface >= interfaces) {
            throw new IllegalArgumentException("no capture interface " + iface + " (add it with addInterface first)");
        }
        int captured = Math.min(length, SNAP_LENGTH);
        int len = 28 + pad4(captured) + 8 /* flags */ + 4 /* end */ + 4;
        if (!ensureRoom(len)) {
            return;
        }
        long ts = epochNanos.getAsLong();
        buf.putInt(BLOCK_EPB).putInt(len).putInt(iface);
        buf.putInt((int) (ts >>> 32)).putInt((int) ts);
        buf.putInt(captured).putInt(length);
        int limit = buf.limit();
        buf.limit(buf.position() + captured);
        frame.getBytes(offset, buf); // fills up to the limit, advancing the position
        buf.limit(limit);
        padTo4(captured);
        buf.putShort((short) OPT_EPB_FLAGS).putShort((short) 4).putInt(outbound ? FLAGS_OUTBOUND : FLAGS_INBOUND);
        buf.putShort((short) OPT_END).putShort((short) 0);
        buf.putInt(len);
        framesWritten++;
        long ms = ts / 1_000_000L;
        if (ms - lastFlush >= FLUSH_INTERVAL_MILLIS) {
            lastFlush = ms;
            flush();
        }
    }

    /** How many frames were written. */
    public long framesWritten() {
        return framesWritten;
    }

    /** Why the capture stopped (a write to the file failed), or null while it runs. */
    public IOException failure() {
        return failure;
    }

    /** Writes what is buffered to the file. */
    public void flush() {
        if (failure != null || closed) {
            return;
        }
        buf.flip();
        try {
            while (buf.hasRemaining()) {
                file.write(buf);
            }
        } catch (IOException e) {
            failure = e;
        }
        buf.clear();
    }

    /** Flushes and closes the file. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        flush();
        closed = true;
        try {
            file.close();
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
        }
    }

    private void writeSectionHeader() {
        byte[] app = "usertcp".getBytes(StandardCharsets.US_ASCII);
        int len = 8 + 16 + 4 + pad4(app.length) + 4 + 4;
        buf.putInt(BLOCK_SHB).putInt(len).putInt(BYTE_ORDER_MAGIC);
        buf.putShort((short) 1).putShort((short) 0).putLong(-1L); // version 1.0, section length unknown
        buf.putShort((short) OPT_SHB_USERAPPL).putShort((short) app.length).put(app);
        padTo4(app.length);
        buf.putShort((short) OPT_END).putShort((short) 0);
        buf.putInt(len);
    }

    private boolean ensureRoom(int len) {
        if (buf.remaining() < len) {
            flush();
        }
        return failure == null && !closed && buf.remaining() >= len;
    }

    private void padTo4(int n) {
        for (int i = n; (i & 3) != 0; i++) {
            buf.put((byte) 0);
        }
    }

    private static int pad4(int n) {
        return (n + 3) & ~3;
    }
}
