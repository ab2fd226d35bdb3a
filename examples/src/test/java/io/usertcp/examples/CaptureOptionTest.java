package io.usertcp.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CaptureOptionTest {
    @Test
    void takesTheOptionFromAnywhere() {
        CaptureOption c = CaptureOption.extract(new String[] {"tap1", "--pcap", "/tmp/x.pcapng", "198.18.0.1/24"});
        assertEquals(Path.of("/tmp/x.pcapng"), c.file());
        assertArrayEquals(new String[] {"tap1", "198.18.0.1/24"}, c.rest());
        c = CaptureOption.extract(new String[] {"--pcap", "a.pcapng"});
        assertEquals(Path.of("a.pcapng"), c.file());
        assertArrayEquals(new String[0], c.rest());
    }

    @Test
    void withoutItNothingChanges() {
        CaptureOption c = CaptureOption.extract(new String[] {"tap1", "7000"});
        assertNull(c.file());
        assertArrayEquals(new String[] {"tap1", "7000"}, c.rest());
    }

    @Test
    void aMissingFileNameIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CaptureOption.extract(new String[] {"tap1", "--pcap"}));
        assertTrue(e.getMessage().contains("--pcap needs a file name"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CaptureOption.extract(new String[] {"--pcap", "--other"}));
        assertThrows(IllegalArgumentException.class,
                () -> CaptureOption.extract(new String[] {"--pcap", "a", "--pcap", "b"}));
    }

    @Test
    void theServersPassItToTheStack() {
        ServerArgs args = ServerArgs.parse(new String[0], 7);
        assertEquals(Path.of("c.pcapng"), EchoServer.stackConfig(args, null, false, Path.of("c.pcapng")).capture());
        assertNull(EchoServer.stackConfig(args, null, false).capture());
    }
}
