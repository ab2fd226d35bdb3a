package io.usertcp.stack;

import io.usertcp.tcp.TcpFlow;
import io.usertcp.util.KeyedHash;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Which stack of a {@link StackGroup} holds each TCP connection: four-tuple to connection, or to the compact record
 * that holds its TIME-WAIT (whose layer names the stack). Written when a connection is created, when a record
 * replaces it and when it leaves its table, read only when a stack receives a segment it has no connection for;
 * never on the path of a segment that finds its connection.
 *
 * <p>The remote half comes from the wire, so the hash is keyed ({@link KeyedHash}) with a secret of the group.
 */
final class FlowDirectory {
    private final KeyedHash hasher = KeyedHash.random();
    private final ConcurrentHashMap<Key, TcpFlow> flows = new ConcurrentHashMap<>();

    /** One per thread that looks up: a reusable probe. */
    Key probe() {
        return new Key(hasher);
    }

    void put(TcpFlow c, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        flows.put(new Key(hasher).set(lHi, lLo, lPort, rHi, rLo, rPort), c);
    }

    /** Maps the four-tuple to {@code now} if it maps to {@code old}, in one step (no moment without an owner). */
    void replace(TcpFlow old, TcpFlow now, Key probe, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        flows.replace(probe.set(lHi, lLo, lPort, rHi, rLo, rPort), old, now);
    }

    /** Forgets the four-tuple if {@code c} (not a successor with the same four-tuple) is what it maps to. */
    void remove(TcpFlow c, Key probe, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        flows.remove(probe.set(lHi, lLo, lPort, rHi, rLo, rPort), c);
    }

    /** The connection (or TIME-WAIT record) with this four-tuple in any stack of the group, or null. */
    TcpFlow get(Key probe, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return flows.get(probe.set(lHi, lLo, lPort, rHi, rLo, rPort));
    }

    int size() {
        return flows.size();
    }

    /** A four-tuple from the local side (IPv4 addresses IPv4-mapped). */
    static final class Key implements Comparable<Key> {
        private final KeyedHash hasher;
        private long lHi;
        private long lLo;
        private long rHi;
        private long rLo;
        private int ports;
        private int hash;

        Key(KeyedHash hasher) {
            this.hasher = hasher;
        }

        Key set(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
            this.lHi = lHi;
            this.lLo = lLo;
            this.rHi = rHi;
            this.rLo = rLo;
            this.ports = lPort << 16 | rPort;
            this.hash = hasher.hash(lHi, lLo, rHi, rLo, ports);
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && ports == k.ports && lLo == k.lLo && rLo == k.rLo && lHi == k.lHi
                    && rHi == k.rHi;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public int compareTo(Key k) {
            int c = Long.compare(rLo, k.rLo);
            if (c == 0) {
                c = Long.compare(rHi, k.rHi);
            }
            if (c == 0) {
                c = Integer.compare(ports, k.ports);
            }
            if (c == 0) {
                c = Long.compare(lLo, k.lLo);
            }
            return c != 0 ? c : Long.compare(lHi, k.lHi);
        }
    }
}
