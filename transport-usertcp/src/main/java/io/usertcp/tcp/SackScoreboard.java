package io.usertcp.tcp;

import io.usertcp.stats.StackStats;

/**
 * The sender's record of what the receiver has selectively acknowledged (RFC 2018, RFC 6675 §3): sorted,
 * disjoint ranges of sequence space above SND.UNA. Small and bounded: at most {@link #MAX_RANGES} (32)
 * ranges, a block that would need more is ignored and counted ({@code StackStats.tcpSackBlocksIgnored});
 * lookups are binary searches. A version number tells {@link RackState} whether anything changed.
 */
final class SackScoreboard {
    /** Most ranges kept: a block that would need more is ignored (it only costs a retransmission). */
    static final int MAX_RANGES = 32;

    private static final int[] NONE = new int[0];
    // Made on the first SACK block: most connections never see one, and an idle connection keeps its heap small
    // (issue #12: at most 2 KiB per idle connection).
    private int[] start = NONE;
    private int[] end = NONE;
    private int n;
    private int sacked;
    private int version;

    /** Forgets everything (after a retransmission timeout: the receiver may have reneged, RFC 2018 §8). */
    void clear() {
        n = 0;
        sacked = 0;
        version++;
    }

    /** Changes with every change of the ranges. */
    int version() {
        return version;
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
        return add(s, e, una, max, null);
    }

    /** {@link #add(int, int, int, int)}, counting a block ignored for want of room in {@code stats}. */
    boolean add(int s, int e, int una, int max, StackStats stats) {
        if (e - s <= 0 || s - una < 0 || e - max > 0) {
            return false;
        }
        if (start == NONE) {
            start = new int[MAX_RANGES];
            end = new int[MAX_RANGES];
        }
        int before = sacked;
        int i = firstEndingAtOrAfter(s);
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
                if (stats != null) {
                    stats.tcpSackBlocksIgnored++;
                }
                return false;
            }
            System.arraycopy(start, i, start, i + 1, n - i);
            System.arraycopy(end, i, end, i + 1, n - i);
            start[i] = s;
            end[i] = e;
            n++;
            sacked += e - s;
        }
        if (sacked == before) {
            return false;
        }
        version++;
        return true;
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
            version++;
        }
        if (n > 0 && start[0] - una < 0) {
            sacked -= una - start[0];
            start[0] = una;
            version++;
        }
    }

    /** {@code seq} if it is not SACKed, else the end of the range holding it. */
    int skipSacked(int seq) {
        int i = firstEndingAtOrAfter(seq + 1);
        return i < n && start[i] - seq <= 0 ? end[i] : seq;
    }

    /** Where the unSACKed stretch starting at {@code seq} ends: the next range's start, or {@code limit}. */
    int holeEnd(int seq, int limit) {
        int i = firstEndingAtOrAfter(seq + 1);
        if (i < n && start[i] - seq <= 0) {
            i++; // seq is inside range i: the stretch begins after it
        }
        if (i < n) {
            return start[i] - limit < 0 ? start[i] : limit;
        }
        return limit;
    }

    /** Index of the first range whose end is at or after {@code seq} (n if none): a binary search. */
    private int firstEndingAtOrAfter(int seq) {
        int lo = 0;
        int hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (end[mid] - seq >= 0) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }
}
