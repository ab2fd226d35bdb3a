package io.usertcp.tcp;

import io.usertcp.util.KeyedHash;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hash flooding of the connection table: 2000 four-tuples (one local address and port, IPv6 sources chosen by
 * the attacker) that all had one hash code under FlowKey's former linear mix now spread over the table.
 */
class FlowKeyHashTest {
    private static final long G = 0x9E3779B97F4A7C15L;
    private static final long LOCAL_HI = 0xfd00_0198_0000_0000L;
    private static final long LOCAL_LO = 2;

    @Test
    void fourTuplesThatCollidedUnderTheOldHashSpread() {
        long invG = 1;
        for (int i = 0; i < 6; i++) {
            invG *= 2 - G * invG; // the inverse of G modulo 2^64 (Newton's iteration)
        }
        assertThat(G * invG).isEqualTo(1);
        int n = 2000;
        long[] remoteHi = new long[n];
        long[] remoteLo = new long[n];
        for (int k = 0; k < n; k++) {
            // Old: h = ((localLo * G + remoteLo) * G + (localHi ^ remoteHi)) * G + ports. Keep
            // remoteLo * G + (localHi ^ remoteHi) at 0.
            remoteHi[k] = 0x2001_0db8_0000_0000L + k;
            remoteLo[k] = -(LOCAL_HI ^ remoteHi[k]) * invG;
        }
        int ports = 7000 << 16 | 40000;
        int old = HashLoad.max(n, k -> {
            long h = LOCAL_LO * G + remoteLo[k];
            h = h * G + (LOCAL_HI ^ remoteHi[k]);
            h = h * G + ports;
            return (int) (h ^ (h >>> 32));
        });
        FlowKey probe = new FlowKey(new KeyedHash(0x1234, 0x5678));
        int now = HashLoad.max(n, k -> probe.set(LOCAL_HI, LOCAL_LO, 7000, remoteHi[k], remoteLo[k], 40000).hashCode());
        System.out.printf("FlowKey: largest bucket %d before, %d now%n", old, now);
        assertThat(old).isEqualTo(n);
        assertThat(now).isLessThanOrEqualTo(10);
        // Lookups find every key, with a reused probe.
        Map<FlowKey, Integer> table = new HashMap<>();
        for (int k = 0; k < n; k++) {
            table.put(probe.set(LOCAL_HI, LOCAL_LO, 7000, remoteHi[k], remoteLo[k], 40000).copy(), k);
        }
        for (int k = 0; k < n; k++) {
            assertThat(table.get(probe.set(LOCAL_HI, LOCAL_LO, 7000, remoteHi[k], remoteLo[k], 40000))).isEqualTo(k);
        }
    }

    /** The largest bucket {@code n} hash codes fill in a HashMap table sized for them. */
    private static final class HashLoad {
        static int max(int n, java.util.function.IntUnaryOperator hash) {
            int table = Integer.highestOneBit((int) (n / 0.75f)) << 1;
            int[] load = new int[table];
            int max = 0;
            for (int k = 0; k < n; k++) {
                int h = hash.applyAsInt(k);
                max = Math.max(max, ++load[(h ^ (h >>> 16)) & (table - 1)]);
            }
            return max;
        }
    }
}
