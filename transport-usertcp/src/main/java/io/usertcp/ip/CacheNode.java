package io.usertcp.ip;

/**
 * An entry of a neighbour table ({@link ArpTable}, {@link NeighborCache}) as a node of one of its eviction
 * lists. The links live in the entry, so moving it to the end of a list on every use allocates nothing.
 */
abstract class CacheNode {
    CacheNode prev;
    CacheNode next;
    EvictionList list;

    /** Entries that must not be evicted to make room: the configured router (see {@code protect}). */
    boolean pinned;

    /** A list of entries in the order they were added or last moved: the first is evicted first. */
    static final class EvictionList {
        private CacheNode head;
        private CacheNode tail;
        private int size;

        int size() {
            return size;
        }

        /** Appends {@code n} (taking it off whatever list it was on), unless it is already the last here. */
        void moveToEnd(CacheNode n) {
            if (n.list == this && tail == n) {
                return;
            }
            if (n.list != null) {
                n.list.remove(n);
            }
            n.prev = tail;
            n.next = null;
            if (tail == null) {
                head = n;
            } else {
                tail.next = n;
            }
            tail = n;
            n.list = this;
            size++;
        }

        void remove(CacheNode n) {
            if (n.list != this) {
                return;
            }
            if (n.prev == null) {
                head = n.next;
            } else {
                n.prev.next = n.next;
            }
            if (n.next == null) {
                tail = n.prev;
            } else {
                n.next.prev = n.prev;
            }
            n.prev = null;
            n.next = null;
            n.list = null;
            size--;
        }

        /** The first entry that is not pinned, or null. */
        CacheNode firstUnpinned() {
            for (CacheNode n = head; n != null; n = n.next) {
                if (!n.pinned) {
                    return n;
                }
            }
            return null;
        }

        CacheNode first() {
            return head;
        }
    }
}
