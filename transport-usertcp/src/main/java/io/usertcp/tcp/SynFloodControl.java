package io.usertcp.tcp;

import io.usertcp.wire.SynFilter;

/**
 * What the stack tells the TCP layer about its link during a SYN flood, and what the TCP layer asks of the link
 * (issue #10): the loop's backlog drives {@link SynAdmission}, which chooses the SYN cookies worth answering, and
 * {@link KernelSynFilter}, which chooses what the link drops before the loop reads it.
 */
public final class SynFloodControl {
    private final SynAdmission admission;
    private final TcpEnv env;

    SynFloodControl(SynAdmission admission, TcpEnv env) {
        this.admission = admission;
        this.env = env;
    }

    /**
     * The loop read its link; {@code behind}: the read stopped at the read budget with frames still waiting.
     * For a while after the loop was behind, flooded listeners answer only some SYN cookies.
     */
    public void linkBacklog(boolean behind) {
        admission.turn(behind, env.now());
    }

    /**
     * What the link should drop of a SYN flood before the loop reads it, from now on: a new filter, once, or null
     * when nothing changed. The caller hands it to the link and reports back through {@link #filterResult}.
     */
    public SynFilter filterUpdate() {
        return admission.filterUpdate();
    }

    /** Whether the link took {@code f}; if it cannot filter, the loop stops asking and drops SYNs itself. */
    public void filterResult(SynFilter f, boolean ok) {
        admission.filterResult(f, ok);
    }

    /** Whether a SYN filter is on at the link: the stack then calls {@link #linkBacklog} at least every 100 ms. */
    public boolean filterOn() {
        return admission.filter().on();
    }

    /**
     * Makes the stack's record of sources that completed a handshake {@code shared}, the one of its group's stacks
     * (tun may steer a client's next connection to another loop).
     */
    public void share(SourceHistory shared) {
        admission.share(shared);
    }
}
