package io.usertcp.tcp;

import java.io.IOException;
import java.net.ConnectException;

/**
 * The exceptions a connection fails with because of what its peer sent, or did not send: a reset, a refused
 * connect. They are made by the event loop for segments from the wire, where a stack trace would only ever show
 * the loop's input path and costs more than the rest of the reset (a client that closes with SO_LINGER 0 resets
 * every connection): like the native transports' errno exceptions, they carry none.
 */
final class PeerErrors {
    private PeerErrors() {
    }

    /** RFC 9293 §3.10.7.4: a RST in a synchronized state. */
    static IOException reset() {
        return new Reset();
    }

    /** RFC 9293 §3.10.7.3: a RST that acknowledges our SYN. */
    static ConnectException refused(Object remote) {
        return new Refused("Connection refused: " + remote);
    }

    private static final class Reset extends IOException {
        private static final long serialVersionUID = 1L;

        Reset() {
            super("Connection reset by peer");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    private static final class Refused extends ConnectException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
