package io.usertcp.tcp;

import io.usertcp.util.SipHash;
import io.usertcp.wire.IpAddress;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SynAdmissionTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;
    private static final long V4_HI = 0;
    private static final int PORT = 7000;

    private static long v4(int a) {
        return IpAddress.mappedLo(a);
    }

    private static int admitted(SynAdmission a, int syns, long now) {
        int n = 0;
        for (int i = 0; i < syns; i++) {
            if (a.admit(V4_HI, v4(0xC6130000 + i), PORT, now)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void aLoopThatKeepsUpAnswersEverySource() {
        SynAdmission a = new SynAdmission(new SipHash(1, 2));
        for (long t = 0; t < 100 * MS; t += MS) {
            a.turn(false, t);
        }
        assertThat(admitted(a, 10_000, 100 * MS)).isEqualTo(10_000);
    }

    @Test
    void behindKnownSourcesAreAlwaysAnsweredAndUnknownOnesWithinTheRate() {
        SynAdmission a = new SynAdmission(new SipHash(1, 2));
        long known = v4(0xC6120001);
        a.handshakeCompleted(V4_HI, known, 0);
        // Behind on every turn with no SYN answered: the rate for unknown sources falls to its floor.
        for (long t = 0; t <= 100 * MS; t += MS) {
            a.turn(true, t);
        }
        assertThat(a.selective(100 * MS)).isTrue();
        assertThat(a.rate()).isEqualTo(SynAdmission.MIN_RATE);
        // The bucket's first burst, then nothing more at the same instant.
        assertThat(admitted(a, 1_000, 100 * MS)).isEqualTo(SynAdmission.BURST);
        assertThat(admitted(a, 1_000, 100 * MS)).isZero();
        assertThat(a.admit(V4_HI, known, PORT, 100 * MS)).as("a known source with the bucket empty").isTrue();
        assertThat(a.admit(V4_HI, v4(0xC6120002), PORT, 100 * MS)).as("its neighbour").isFalse();
        // 10 ms later the rate (1,000/s) has earned 10 answers.
        assertThat(admitted(a, 1_000, 110 * MS)).isEqualTo(10);
    }

    @Test
    void aFloodThatStartsWhileEverySynIsAnsweredCutsTheRateToHalfWhatTheLoopAnswered() {
        SynAdmission a = new SynAdmission(new SipHash(1, 2));
        a.turn(false, 0);
        assertThat(admitted(a, 2_000, MS)).isEqualTo(2_000); // keeping up: everything, 2,000 in the period
        a.turn(true, 5 * MS);
        assertThat(admitted(a, 1_000, 6 * MS)).as("selective now: the bucket's burst").isEqualTo(SynAdmission.BURST);
        a.turn(false, 10 * MS); // the period ends: 2,064 answered in 10 ms, 206,400/s; half of it
        assertThat(a.rate()).isEqualTo(103_200);
    }

    @Test
    void theRateGrowsBackWhileTheLoopKeepsUpAndSelectionEndsASecondAfterTheLastBacklog() {
        SynAdmission a = new SynAdmission(new SipHash(1, 2));
        for (long t = 0; t <= 200 * MS; t += MS) {
            a.turn(true, t);
        }
        assertThat(a.rate()).isEqualTo(SynAdmission.MIN_RATE);
        for (long t = 201 * MS; t <= 700 * MS; t += MS) {
            a.turn(false, t);
        }
        // The period that ended at 210 ms still saw the backlog at 200 ms; the 49 after it did not.
        assertThat(a.rate()).isEqualTo(SynAdmission.MIN_RATE + 49 * SynAdmission.RATE_STEP);
        assertThat(a.selective(200 * MS + SynAdmission.HOLD_NANOS - 1)).isTrue();
        assertThat(a.selective(200 * MS + SynAdmission.HOLD_NANOS)).isFalse();
        assertThat(admitted(a, 10_000, 200 * MS + SynAdmission.HOLD_NANOS)).isEqualTo(10_000);
    }

    @Test
    void aHandshakeVouchesForItsSourceForTenMinutes() {
        SynAdmission a = new SynAdmission(new SipHash(3, 4));
        long src = v4(0xC6120001);
        assertThat(a.known(V4_HI, src, SEC)).isFalse();
        a.handshakeCompleted(V4_HI, src, SEC);
        assertThat(a.known(V4_HI, src, SEC + SynAdmission.MEMORY_NANOS - 1)).isTrue();
        assertThat(a.known(V4_HI, src, SEC + SynAdmission.MEMORY_NANOS)).isFalse();
        // IPv6 addresses too (both halves count).
        long hi = 0xfd00_0000_0000_0000L;
        a.handshakeCompleted(hi, 1, SEC);
        assertThat(a.known(hi, 1, 2 * SEC)).isTrue();
        assertThat(a.known(hi, 2, 2 * SEC)).isFalse();
        assertThat(a.known(hi + 1, 1, 2 * SEC)).isFalse();
    }
}
