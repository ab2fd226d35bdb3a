package io.usertcp.tcp;

import io.usertcp.util.SipHash;
import io.usertcp.wire.IpAddress;

import java.io.IOException;
import java.net.BindException;

import static io.usertcp.tcp.TcpLayer.EPHEMERAL_HIGH;
import static io.usertcp.tcp.TcpLayer.EPHEMERAL_LOW;

/**
 * A TCP layer's choice of local ports for active opens (RFC 6056 §3.3.3) and for listeners bound to port 0, within
 * {@link TcpLayer#EPHEMERAL_LOW}-{@link TcpLayer#EPHEMERAL_HIGH}; in a group of stacks only the ports this stack's
 * {@link FlowSteering#mayUseEphemeral} allows.
 */
final class EphemeralPorts {
    private final TcpLayer tcp;
    private final SipHash portHash;
    private int nextEphemeral;

    EphemeralPorts(TcpLayer tcp, SipHash portHash) {
        this.tcp = tcp;
        this.portHash = portHash;
    }

    int pick(IpAddress local, IpAddress remote, int remotePort) throws IOException {
        // RFC 6056 §3.3.3 (Algorithm 3): offset = F(local, remote, secret), then a shared counter.
        int num = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
        long offset = (local.isV4() ? portHash.hash(local.v4(), remote.v4(), remotePort, 0, 0)
                : portHash.hash(local.hi(), local.lo(), remote.hi(), remote.lo(), remotePort)) & 0x7fff_ffffL;
        FlowSteering steering = tcp.env.steering();
        for (int i = 0; i < num; i++) {
            int port = EPHEMERAL_LOW + (int) ((offset + nextEphemeral + i) % num);
            if (!tcp.hasConnection(local, port, remote, remotePort) && !tcp.portTaken(port, false)
                    && steering.mayUseEphemeral(port)) {
                nextEphemeral += i + 1;
                return port;
            }
        }
        throw new BindException("Cannot assign requested address: no free ephemeral port towards "
                + remote + ":" + remotePort);
    }

    int pickListenPort() throws IOException {
        int num = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
        for (int i = 0; i < num; i++) {
            int port = EPHEMERAL_LOW + (int) ((nextEphemeral + i) % num);
            if (!tcp.portTaken(port, true)) {
                nextEphemeral += i + 1;
                return port;
            }
        }
        throw new BindException("no free port to listen on");
    }
}
