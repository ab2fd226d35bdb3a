package io.usertcp.fuzz;

/**
 * A cursor over a fuzzer's raw input, read front to back in big-endian fields. Reading past the end yields
 * zeros (and empty arrays), never an exception, so every input, the empty one too, decodes to something and
 * every prefix of a corpus entry decodes to a prefix of its operations.
 */
final class FuzzInput {
    private final byte[] data;
    private int pos;

    FuzzInput(byte[] data) {
        this.data = data;
    }

    boolean hasMore() {
        return pos < data.length;
    }

    int remaining() {
        return data.length - pos;
    }

    int u8() {
        return pos < data.length ? data[pos++] & 0xff : 0;
    }

    int u16() {
        return (u8() << 8) | u8();
    }

    int i32() {
        return (u16() << 16) | u16();
    }

    boolean bool() {
        return (u8() & 1) != 0;
    }

    /** Up to {@code n} bytes (fewer when the input ends first). */
    byte[] bytes(int n) {
        int k = Math.max(0, Math.min(n, data.length - pos));
        byte[] b = new byte[k];
        System.arraycopy(data, pos, b, 0, k);
        pos += k;
        return b;
    }

    /** A length-prefixed (u16) byte string, at most {@code max} bytes long. */
    byte[] lengthPrefixed(int max) {
        return bytes(Math.min(max, u16()));
    }

    /** Everything not read yet. */
    byte[] rest() {
        return bytes(remaining());
    }
}
