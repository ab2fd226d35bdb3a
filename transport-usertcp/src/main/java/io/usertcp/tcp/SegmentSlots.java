package io.usertcp.tcp;

/**
 * Where the entries of {@link SegmentRecords} sit: parallel arrays, entries {@code off .. off + n - 1} in
 * sequence order, with free slots before them (for splits near SND.UNA) and after them (for new data).
 *
 * <p>The arrays grow when the last slot is taken and are reused, so steady state allocates nothing. They shrink
 * back to {@link #INITIAL_CAPACITY} when the flight empties, or to a quarter when it falls far below them, but
 * only once they have grown beyond {@link #SHRINK_ABOVE} slots: an idle connection does not keep the arrays
 * of a burst, and a connection that never grew never reallocates.
 */
abstract class SegmentSlots {
    /** Slots the arrays start with, and shrink back to. */
    static final int INITIAL_CAPACITY = 4; // an idle connection's arrays: ~200 bytes (issue #12: <= 2 KiB each)
    /**
     * The arrays shrink only when they hold more slots than this: a connection whose bursts stay within it keeps the
     * arrays it grew and allocates nothing more (a flight empties after every response of a request/response
     * protocol).
     */
    static final int SHRINK_ABOVE = 256;

    // Entries off .. off + n - 1 of these arrays, in sequence order, contiguous and disjoint.
    int[] start = new int[INITIAL_CAPACITY];
    int[] end = new int[INITIAL_CAPACITY];
    int[] seg = new int[INITIAL_CAPACITY];    // the wire segment size the entry was sent in: its SACK grid
    int[] pcount = new int[INITIAL_CAPACITY]; // wire segments the entry stands for (RACK.segs_sacked counts these)
    long[] xmitTs = new long[INITIAL_CAPACITY];
    byte[] flags = new byte[INITIAL_CAPACITY];
    int off;
    int n;
    long work; // entries examined, split, merged or moved

    /** Slots the arrays hold now. */
    int capacity() {
        return start.length;
    }

    /** Entries examined, split, merged or moved so far: a measure of work that does not depend on timing. */
    long work() {
        return work;
    }

    /** Adds {@code k} to {@link #work()} (for walks over the entries done by the store's users). */
    void addWork(int k) {
        work += k;
    }

    // ------------------------------------------------------------------ slots

    /**
     * Makes room for an entry at index {@code i}: the entries before it move down one slot, or those from it
     * move up one, whichever are fewer and have room.
     */
    final void openSlot(int i) {
        if (off > 0 && (i <= n - i || off + n == start.length)) {
            move(off, off - 1, i);
            off--;
        } else {
            if (off + n == start.length) {
                makeRoom();
            }
            move(off + i, off + i + 1, n - i);
        }
        n++;
    }

    /**
     * Called when the last slot is taken: moves the entries (into arrays twice the size if they are more than
     * half full), leaving a quarter of the free slots before them, for splits near SND.UNA, and the rest after
     * them, for new data.
     */
    final void makeRoom() {
        if (n < start.length / 2) {
            int to = (start.length - n) / 4;
            move(off, to, n);
            off = to;
        } else {
            resize(start.length * 2);
        }
    }

    /**
     * The arrays shrink once they grew beyond {@link #SHRINK_ABOVE} slots and the entries fill at most a
     * sixteenth of them: back to {@link #INITIAL_CAPACITY} when the flight is empty, else to a quarter of their
     * size (so a shrink is followed by a growth only after the flight has grown eightfold).
     */
    final void shrinkIfOversized() {
        int cap = start.length;
        if (cap <= SHRINK_ABOVE || n > cap / 16) {
            return;
        }
        resize(n == 0 ? INITIAL_CAPACITY : Math.max(INITIAL_CAPACITY, cap / 4));
    }

    /** Moves the entries into new arrays of {@code cap} slots, a quarter of the free ones before them. */
    private void resize(int cap) {
        int to = (cap - n) / 4;
        start = copied(start, cap, to);
        end = copied(end, cap, to);
        seg = copied(seg, cap, to);
        pcount = copied(pcount, cap, to);
        long[] t = new long[cap];
        System.arraycopy(xmitTs, off, t, to, n);
        xmitTs = t;
        byte[] f = new byte[cap];
        System.arraycopy(flags, off, f, to, n);
        flags = f;
        work += n;
        off = to;
    }

    private int[] copied(int[] a, int cap, int to) {
        int[] b = new int[cap];
        System.arraycopy(a, off, b, to, n);
        return b;
    }

    final void move(int from, int to, int count) {
        if (count <= 0) {
            return;
        }
        work += count;
        System.arraycopy(start, from, start, to, count);
        System.arraycopy(end, from, end, to, count);
        System.arraycopy(seg, from, seg, to, count);
        System.arraycopy(pcount, from, pcount, to, count);
        System.arraycopy(xmitTs, from, xmitTs, to, count);
        System.arraycopy(flags, from, flags, to, count);
    }
}
