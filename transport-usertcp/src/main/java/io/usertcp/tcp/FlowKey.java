package io.usertcp.tcp;

/**
 * The four-tuple that names a connection (RFC 9293 §3.3.2: local and remote socket). Addresses are 128-bit
 * (an IPv4 address is held in the low 32 bits of {@code lo}), so one key type serves both families. A
 * mutable probe instance is reused for lookups so demultiplexing allocates nothing.
 */
final class FlowKey {
    long localHi;
    long localLo;
    long remoteHi;
    long remoteLo;
    int ports; // local << 16 | remote

    FlowKey set(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort) {
        this.localHi = localHi;
        this.localLo = localLo;
        this.remoteHi = remoteHi;
        this.remoteLo = remoteLo;
        this.ports = (localPort << 16) | remotePort;
        return this;
    }

    FlowKey copy() {
        FlowKey k = new FlowKey();
        k.localHi = localHi;
        k.localLo = localLo;
        k.remoteHi = remoteHi;
        k.remoteLo = remoteLo;
        k.ports = ports;
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
        long h = localLo * 0x9E3779B97F4A7C15L + remoteLo;
        h = h * 0x9E3779B97F4A7C15L + (localHi ^ remoteHi);
        h = h * 0x9E3779B97F4A7C15L + ports;
        return (int) (h ^ (h >>> 32));
    }
}
