package io.usertcp.tcp;

import io.usertcp.util.KeyedHash;

/**
 * The four-tuple that names a connection (RFC 9293 §3.3.2: local and remote socket). Addresses are 128-bit
 * (an IPv4 address is held in the low 32 bits of {@code lo}), so one key type serves both families. A
 * mutable probe instance is reused for lookups so demultiplexing allocates nothing.
 *
 * <p>The remote half comes from the wire, so the hash code is keyed with the TCP layer's secret
 * ({@link KeyedHash}): nobody who lacks it can choose four-tuples that pile into one bucket of the
 * connection table (hash flooding). Keys are also ordered, so colliding ones would form a tree, not a list.
 */
final class FlowKey implements Comparable<FlowKey> {
    private final KeyedHash hasher;
    long localHi;
    long localLo;
    long remoteHi;
    long remoteLo;
    int ports; // local << 16 | remote
    private int hash;

    FlowKey(KeyedHash hasher) {
        this.hasher = hasher;
    }

    FlowKey set(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort) {
        this.localHi = localHi;
        this.localLo = localLo;
        this.remoteHi = remoteHi;
        this.remoteLo = remoteLo;
        this.ports = (localPort << 16) | remotePort;
        this.hash = hasher.hash(localHi, localLo, remoteHi, remoteLo, ports);
        return this;
    }

    FlowKey copy() {
        FlowKey k = new FlowKey(hasher);
        k.localHi = localHi;
        k.localLo = localLo;
        k.remoteHi = remoteHi;
        k.remoteLo = remoteLo;
        k.ports = ports;
        k.hash = hash;
        return k;
    }

    int localPort() {
        return ports >>> 16;
    }

    int remotePort() {
        return ports & 0xffff;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FlowKey)) {
            return false;
        }
        FlowKey k = (FlowKey) o;
        return ports == k.ports && localLo == k.localLo && remoteLo == k.remoteLo
                && localHi == k.localHi && remoteHi == k.remoteHi;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(FlowKey k) {
        int c = Long.compare(remoteLo, k.remoteLo);
        if (c == 0) {
            c = Long.compare(remoteHi, k.remoteHi);
        }
        if (c == 0) {
            c = Integer.compare(ports, k.ports);
        }
        if (c == 0) {
            c = Long.compare(localLo, k.localLo);
        }
        return c != 0 ? c : Long.compare(localHi, k.localHi);
    }
}
