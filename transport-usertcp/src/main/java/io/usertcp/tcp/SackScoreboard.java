package io.usertcp.tcp;

/**
 * The sender's record of what the receiver has selectively acknowledged (RFC 2018, RFC 6675 §3): sorted,
 * disjoint ranges of sequence space above SND.UNA. Small and bounded ({@link #MAX_RANGES}); every
 * operation walks at most that many ranges.
 */
final class SackScoreboard {
    /** Most ranges kept: a block that would need more is ignored (it only costs a retransmission). */
    static final int MAX_RANGES = 32;

    private final int[] start = new int[MAX_RANGES];
    private final int[] end = new int[MAX_RANGES];
    private int n;
    private int sacked;

    /** Forgets everything (after a retransmission timeout: the receiver may have reneged, RFC 2018 §8). */
    void clear() {
        n = 0;
        sacked = 0;
    }

    boolean isEmpty() {
        return n == 0;
    }

    /** Bytes SACKed above SND.UNA. */
    int sackedBytes() {
        return sacked;
    }

    /** Number of disjoint SACKed ranges. */
    int ranges() {
        return n;
    }

    /** Left edge of range {@code i} (ascending order). */
    int rangeStart(int i) {
        return start[i];
    }

    /** Right edge (exclusive) of range {@code i}. */
    int rangeEnd(int i) {
        return end[i];
    }

    /**
     * Records block [{@code s}, {@code e}) if it lies within ({@code una}, {@code max}]; returns whether it
     * SACKed bytes not SACKed before. Invalid blocks are ignored (RFC 2018 does not trust them either).
     */
    boolean add(int s, int e, int una, int max) {
        if (e - s <= 0 || s - una < 0 || e - max > 0) {
            return false;
        }
        int before = sacked;
        // Find the first range that ends at or after s.
        int i = 0;
        while (i < n && end[i] - s < 0) {
            i++;
        }
        if (i < n && start[i] - e <= 0) {
            // Overlaps or touches range i (and maybe more): merge them all into [ns, ne).
            int ns = start[i] - s < 0 ? start[i] : s;
            int ne = e;
            int j = i;
            while (j < n && start[j] - e <= 0) {
                if (end[j] - ne > 0) {
                    ne = end[j];
                }
                sacked -= end[j] - start[j];
                j++;
            }
            start[i] = ns;
            end[i] = ne;
            sacked += ne - ns;
            int removed = j - i - 1;
            if (removed > 0) {
                System.arraycopy(start, j, start, i + 1, n - j);
                System.arraycopy(end, j, end, i + 1, n - j);
                n -= removed;
            }
        } else {
            if (n == MAX_RANGES) {
                return false;
            }
            System.arraycopy(start, i, start, i + 1, n - i);
            System.arraycopy(end, i, end, i + 1, n - i);
            start[i] = s;
            end[i] = e;
            n++;
            sacked += e - s;
        }
        return sacked > before;
    }

    /** Drops what SND.UNA has reached. */
    void advance(int una) {
        int k = 0;
        while (k < n && end[k] - una <= 0) {
            sacked -= end[k] - start[k];
            k++;
        }
        if (k > 0) {
            System.arraycopy(start, k, start, 0, n - k);
            System.arraycopy(end, k, end, 0, n - k);
            n -= k;
        }
        if (n > 0 && start[0] - una < 0) {
            sacked -= una - start[0];
            start[0] = una;
        }
    }

    /** {@code seq} if it is not SACKed, else the end of the range holding it. */
    int skipSacked(int seq) {
        for (int i = 0; i < n; i++) {
            if (start[i] - seq > 0) {
                break;
            }
            if (end[i] - seq > 0) {
                return end[i];
            }
        }
        return seq;
    }

    /** Where the unSACKed stretch starting at {@code seq} ends: the next range's start, or {@code limit}. */
    int holeEnd(int seq, int limit) {
        for (int i = 0; i < n; i++) {
            if (start[i] - seq > 0) {
                return start[i] - limit < 0 ? start[i] : limit;
            }
        }
        return limit;
    }
}
