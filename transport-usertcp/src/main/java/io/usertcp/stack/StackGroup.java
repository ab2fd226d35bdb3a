package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;
import io.usertcp.tcp.SourceHistory;
import io.usertcp.tcp.TcpFlow;
import io.usertcp.util.SipHash;

import java.security.SecureRandom;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Stacks that share one link, one per event loop, each over its own queue of a multi-queue TAP device (issue #12).
 * The tun driver puts a packet from the kernel on the queue its flow table names (the queue the flow was last
 * written on from user space, forgotten after a few idle seconds), else on a hash of the flow; so most packets reach
 * the stack that owns their flow, and the rest are handed over here:
 *
 * <ul>
 * <li>ephemeral ports are split among the stacks ({@code port % size == index}), so active opens never collide;</li>
 * <li>a {@link FlowDirectory} names the stack of every TCP connection: a stack that receives a segment it has no
 *     connection for hands a copy to the owner ({@link GroupMember});</li>
 * <li>the owner of every bound UDP port is in an array of the 65,536 ports;</li>
 * <li>ARP and NDP frames are copied to every stack, so each learns its neighbours; ICMP echo is answered where it
 *     arrives;</li>
 * <li>listeners are shared ({@link SharedListener}): one bound on any loop takes connections on every stack.</li>
 * </ul>
 *
 * <p>Packets move between stacks through bounded lock-free inboxes; nothing on the path of a packet that reaches
 * its owner locks or touches shared state. Thread-safe.
 */
public final class StackGroup {
    /** Packets waiting in one stack's inbox at most; beyond, they are dropped and counted. */
    static final int INBOX_CAPACITY = 4096;

    private final int size;
    private final AtomicReferenceArray<GroupMember> members;
    private int joined;
    final FlowDirectory flows = new FlowDirectory();
    /** The owner of each UDP port: 0 none, else the member's index + 1. */
    final AtomicIntegerArray udpOwners = new AtomicIntegerArray(65536);
    private final ConcurrentHashMap<Integer, SharedListener> listeners = new ConcurrentHashMap<>();
    /** The sources that completed a handshake with any member (issue #10: SYN flood admission and filter). */
    final SourceHistory sources = newSourceHistory();

    private static SourceHistory newSourceHistory() {
        SecureRandom r = new SecureRandom();
        return new SourceHistory(new SipHash(r.nextLong(), r.nextLong()));
    }

    /** A group of {@code size} stacks (at least 1). */
    public StackGroup(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("a group has at least one stack: " + size);
        }
        this.size = size;
        this.members = new AtomicReferenceArray<>(size);
    }

    /** The number of stacks the group is made for. */
    public int size() {
        return size;
    }

    /**
     * Adds {@code stack} as the next member (its index is the number joined before); {@code wakeup} makes its
     * owner's thread come out of its wait (it is called after something was put in the stack's inbox).
     *
     * @throws IllegalStateException when the group already has {@link #size()} members
     */
    public int join(Stack stack, Runnable wakeup) {
        return join(stack, wakeup, PlatformDependent.newFixedMpscQueue(INBOX_CAPACITY));
    }

    /** {@link #join(Stack, Runnable)} with the inbox given (a test may watch what goes in). */
    synchronized int join(Stack stack, Runnable wakeup, Queue<ByteBuf> inbox) {
        if (joined == size) {
            throw new IllegalStateException("the group already has its " + size + " stacks");
        }
        int index = joined++;
        GroupMember m = new GroupMember(this, index, stack, wakeup, inbox);
        members.set(index, m);
        stack.joinGroup(m);
        return index;
    }

    /**
     * Removes member {@code index} (its stack is closing; called on that stack's thread): nothing is handed to it any
     * more, and what waits in its inbox is freed.
     */
    public void leave(int index) {
        GroupMember m = members.getAndSet(index, null);
        if (m != null) {
            m.closeInbox();
        }
    }

    GroupMember member(int index) {
        return members.get(index);
    }

    /** The member whose stack holds {@code c}, or null. */
    GroupMember ownerOf(TcpFlow c) {
        for (int i = 0; i < size; i++) {
            GroupMember m = members.get(i);
            if (m != null && m.stack().tcp() == c.layer()) {
                return m;
            }
        }
        return null;
    }

    /** Connections the directory knows (all stacks together). */
    public int directorySize() {
        return flows.size();
    }

    // ------------------------------------------------------------------ shared listeners

    /**
     * Binds {@code l} to {@code port} for the whole group.
     *
     * @return false if another shared listener has the port
     */
    public boolean bind(int port, SharedListener l) {
        return listeners.putIfAbsent(port, l) == null;
    }

    /** Removes {@code l}'s binding of {@code port} (if it is still {@code l}'s). */
    public void unbind(int port, SharedListener l) {
        listeners.remove(port, l);
    }

    SharedListener listener(int port) {
        return listeners.get(port);
    }
}
