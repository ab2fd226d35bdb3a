package io.usertcp.examples;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoopsOptionTest {

    @Test
    void takesTheOptionAnywhereAndLeavesTheRest() {
        LoopsOption o = LoopsOption.extract(new String[] {"tap0", "--loops", "3", "198.18.0.1/24"}, true, false);
        assertEquals(3, o.loops());
        assertArrayEquals(new String[] {"tap0", "198.18.0.1/24"}, o.rest());
    }

    @Test
    void defaultsToOnePerCoreAsRootElseOne() {
        assertEquals(Runtime.getRuntime().availableProcessors(), LoopsOption.extract(new String[0], true, false).loops());
        assertEquals(1, LoopsOption.extract(new String[0], false, false).loops());
        assertEquals(1, LoopsOption.extract(new String[0], true, true).loops(), "a capture takes one loop");
    }

    @Test
    void refusesBadCountsAndSeveralLoopsWithACapture() {
        assertMessage("--loops needs a number", "--loops");
        assertMessage("--loops needs a number", "--loops", "0");
        assertMessage("twice", "--loops", "2", "--loops", "2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoopsOption.extract(new String[] {"--loops", "2"}, true, true));
        assertTrue(e.getMessage().contains("--pcap captures one stack"), e.getMessage());
    }

    private static void assertMessage(String part, String... args) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoopsOption.extract(args, true, false));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
