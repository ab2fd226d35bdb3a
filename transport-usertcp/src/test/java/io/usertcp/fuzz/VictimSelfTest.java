package io.usertcp.fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.stack.StackLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fuzz targets' checks can fail: a leaked buffer, a stack that no longer answers, an exception caught by the
 * loop's fault barrier and a malformed frame sent by the victim are each reported. (A check that cannot fail
 * would make every fuzzing hour worthless.)
 */
@ExtendWith(StackLeakCheck.class)
class VictimSelfTest {

    @Test
    void aQuietInputPassesEveryCheck() {
        assertThatCode(() -> {
            try (Victim v = new Victim(0)) {
                v.check();
            }
        }).doesNotThrowAnyException();
    }

    @Test
    void aLeakedBufferIsFound() {
        Victim v = new Victim(0);
        ByteBuf lost = Victim.ALLOC.directBuffer(64);
        try {
            assertThatThrownBy(v::close).hasMessageContaining("still allocated after close");
        } finally {
            lost.release();
        }
    }

    @Test
    void aStackThatNoLongerAcceptsIsFound() {
        try (Victim v = new Victim(0)) {
            v.listener.close();
            assertThatThrownBy(v::check).hasMessageContaining("no longer answers")
                    .hasMessageContaining("SYN-ACK to a fresh connection");
        }
    }

    @Test
    void anExceptionCaughtByTheLoopsFaultBarrierIsFound() {
        try (Victim v = new Victim(0)) {
            v.udpBound.handler(ev -> {
                throw new IllegalStateException("a bug in a handler");
            });
            v.input(Victim.ipFrame(Victim.PEER4, Victim.VICTIM4, Frames.UDP, Frames.udp(Victim.PEER4, Victim.VICTIM4,
                    9000, Victim.UDP_BOUND_PORT, new byte[4])), false);
            assertThatThrownBy(v::check).hasMessageContaining("fault barrier caught 1 exception");
        }
    }

    @Test
    void aMalformedFrameFromTheVictimIsFound() {
        try (Victim v = new Victim(0)) {
            // A frame with a wrong UDP checksum on the victim's link, as if the stack had sent it.
            byte[] bad = Victim.ipFrame(Victim.VICTIM4, Victim.PEER4, Frames.UDP, Frames.udp(Victim.VICTIM4,
                    Victim.PEER4, 7000, 9000, new byte[4]));
            bad[bad.length - 5] ^= 1;
            v.link.transmit(Unpooled.wrappedBuffer(bad));
            assertThatThrownBy(v::pump).hasMessageContaining("malformed frame");
        }
    }
}
