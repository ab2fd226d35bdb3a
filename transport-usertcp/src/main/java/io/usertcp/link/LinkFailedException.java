package io.usertcp.link;

import java.io.IOException;

/**
 * A {@link Link} failed for good: its device is gone (a TAP device deleted with {@code ip link del}, or its
 * namespace removed) and no frame will pass again. A link throws it once, from {@link Link#receive}; after that
 * it receives nothing and drops what it is given. The owner stops polling the link's descriptor and closes the
 * connections on it; re-creating the device is the application's business (a new event loop group).
 */
public final class LinkFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message}, which names the device and what happened. */
    public LinkFailedException(String message) {
        super(message);
    }
}
