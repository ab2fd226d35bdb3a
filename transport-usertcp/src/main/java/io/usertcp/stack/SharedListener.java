package io.usertcp.stack;

/**
 * A listener of a {@link StackGroup} (as a socket with {@code SO_REUSEPORT} on every loop): bound once, it is
 * installed in a stack of the group the first time a SYN for its port reaches that stack. Implemented by the
 * channel layer, which hands what such a replica accepts to the server channel.
 */
public interface SharedListener {

    /**
     * Installs a replica of this listener in {@code stack} (called on the stack's thread); returns false when the
     * listener is closing and nothing was installed.
     */
    boolean install(Stack stack);
}
