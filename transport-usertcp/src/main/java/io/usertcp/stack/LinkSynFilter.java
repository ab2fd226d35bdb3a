package io.usertcp.stack;

import io.usertcp.link.Link;
import io.usertcp.time.Timer;
import io.usertcp.wire.SynFilter;

/**
 * Hands the link the SYN filter the TCP layer asks for (issue #10, {@code tcp.KernelSynFilter}), after each read of
 * the link and, while a filter is on, at least every 100 ms from a timer: a flood that stopped must not leave the
 * filter on when no frame comes, since it drops new clients' SYNs too.
 */
final class LinkSynFilter extends Timer {
    static final long PERIOD_NANOS = 100_000_000L;

    private final Stack stack;
    private boolean scheduled;

    LinkSynFilter(Stack stack) {
        this.stack = stack;
    }

    /** After a read of {@code link}: gives it the filter the TCP layer asks for, if that changed. */
    void apply(Link link) {
        SynFilter sf = stack.tcp().synFlood().filterUpdate();
        if (sf == null) {
            return;
        }
        boolean ok = false;
        try {
            ok = link.filterSyns(sf); // a system call, at most once per 10 ms
        } catch (RuntimeException e) {
            stack.faults().caught(LoopFaults.Site.INPUT, "the link's SYN filter", e); // the loop drops SYNs itself
        }
        stack.tcp().synFlood().filterResult(sf, ok);
        if (stack.tcp().synFlood().filterOn() && !scheduled) {
            scheduled = true;
            stack.timers().schedule(this, stack.clock().nanoTime() + PERIOD_NANOS);
        }
    }

    @Override
    protected void expired(long now) {
        scheduled = false;
        Link link = stack.isClosed() ? null : stack.link();
        if (link == null) {
            return;
        }
        stack.tcp().synFlood().linkBacklog(false); // measures the flood's sample, even if nothing came
        apply(link);
    }
}
