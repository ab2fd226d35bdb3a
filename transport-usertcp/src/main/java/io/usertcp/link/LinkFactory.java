package io.usertcp.link;

import java.io.IOException;

/**
 * Opens a {@link Link}. A stack calls its factory once, on the thread that will own it; the factory is
 * where device permissions and names are checked, so its exceptions should say what to fix.
 */
@FunctionalInterface
public interface LinkFactory {

    /** Opens the link. */
    Link open() throws IOException;
}
