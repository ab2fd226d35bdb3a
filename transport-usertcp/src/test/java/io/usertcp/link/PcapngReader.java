package io.usertcp.link;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A strict reader of the pcapng subset {@link PcapngWriter} writes (SHB, IDB, EPB, little-endian), for tests: every
 * block's two length fields must agree, options must be well-formed, and the file must end on a block boundary.
 */
public final class PcapngReader {
    /** One Enhanced Packet Block. */
    public record Packet(int iface, long timestampNanos, byte[] data, int originalLength, boolean outbound) {
    }

    public final List<String> interfaceNames = new ArrayList<>();
    public final List<Integer> linkTypes = new ArrayList<>();
    public final List<Integer> tsResolutions = new ArrayList<>();
    public final List<Packet> packets = new ArrayList<>();
    public String application;

    public static PcapngReader read(Path file) throws IOException {
        PcapngReader r = new PcapngReader();
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        boolean first = true;
        while (b.hasRemaining()) {
            int start = b.position();
            int type = b.getInt();
            int len = b.getInt();
            if (len < 12 || (len & 3) != 0 || start + len > b.limit()) {
                throw new IOException("bad block length " + len + " at " + start);
            }
            if (b.getInt(start + len - 4) != len) {
                throw new IOException("trailing length differs at " + start);
            }
            if (first && type != PcapngWriter.BLOCK_SHB) {
                throw new IOException("file does not start with a section header");
            }
            first = false;
            switch (type) {
                case PcapngWriter.BLOCK_SHB -> {
                    if (b.getInt() != PcapngWriter.BYTE_ORDER_MAGIC) {
                        throw new IOException("byte-order magic");
                    }
                    if (b.getShort() != 1 || b.getShort() != 0 || b.getLong() != -1L) {
                        throw new IOException("version or section length");
                    }
                    r.options(b, start + len - 4, (code, v) -> {
                        if (code == PcapngWriter.OPT_SHB_USERAPPL) {
                            r.application = new String(v, StandardCharsets.UTF_8);
                        }
                    });
                }
                case PcapngWriter.BLOCK_IDB -> {
                    r.linkTypes.add(b.getShort() & 0xffff);
                    b.getShort();
                    b.getInt();
                    String[] name = {null};
                    int[] res = {6};
                    r.options(b, start + len - 4, (code, v) -> {
                        if (code == PcapngWriter.OPT_IF_NAME) {
                            name[0] = new String(v, StandardCharsets.UTF_8);
                        } else if (code == PcapngWriter.OPT_IF_TSRESOL) {
                            res[0] = v[0];
                        }
                    });
                    r.interfaceNames.add(name[0]);
                    r.tsResolutions.add(res[0]);
                }
                case PcapngWriter.BLOCK_EPB -> {
                    int iface = b.getInt();
                    if (iface >= r.interfaceNames.size()) {
                        throw new IOException("packet on undeclared interface " + iface);
                    }
                    long ts = ((long) b.getInt() << 32) | (b.getInt() & 0xffffffffL);
                    int cap = b.getInt();
                    int orig = b.getInt();
                    byte[] data = new byte[cap];
                    b.get(data);
                    b.position(b.position() + ((4 - (cap & 3)) & 3));
                    int[] flags = {0};
                    r.options(b, start + len - 4, (code, v) -> {
                        if (code == PcapngWriter.OPT_EPB_FLAGS) {
                            flags[0] = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).getInt();
                        }
                    });
                    r.packets.add(new Packet(iface, ts, data, orig, (flags[0] & 3) == PcapngWriter.FLAGS_OUTBOUND));
                }
                default -> throw new IOException("unexpected block type " + type);
            }
            b.position(start + len);
        }
        return r;
    }

    private interface OptionVisitor {
        void option(int code, byte[] value);
    }

    private void options(ByteBuffer b, int end, OptionVisitor v) throws IOException {
        while (b.position() < end) {
            int code = b.getShort() & 0xffff;
            int len = b.getShort() & 0xffff;
            if (code == PcapngWriter.OPT_END) {
                if (b.position() != end) {
                    throw new IOException("bytes after opt_endofopt");
                }
                return;
            }
            byte[] value = new byte[len];
            b.get(value);
            b.position(b.position() + ((4 - (len & 3)) & 3));
            v.option(code, value);
        }
        if (b.position() != end) {
            throw new IOException("options overrun their block");
        }
    }
}
