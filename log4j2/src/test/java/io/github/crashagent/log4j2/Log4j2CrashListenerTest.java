// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.message.StringMapMessage;
import org.junit.jupiter.api.Test;

class Log4j2CrashListenerTest {
    static final StackTraceElement[] STACK = {
            new StackTraceElement("com.example.Native", "decode", "Native.java", -2),
            new StackTraceElement("com.example.App", "main", "App.java", 12)};

    static CrashEvent event() {
        return new CrashEvent("SIGSEGV", 11, 0, 0x7f0000001234L, "/opt/app/libcodec.so", 0x1234, "decode_frame",
                "worker-1", true, "com.example.Native.decode()V", STACK, List.of("libcodec.so+0x1234 (decode_frame+0x4)"),
                "abc123", Path.of("/tmp/crashagent_pid7.json"), 1_700_000_000_000L);
    }

    /** Records events; its stop() blocks until released, like an appender stuck on a dead disk. */
    static final class StuckAppender extends AbstractAppender {
        final List<LogEvent> events = new CopyOnWriteArrayList<>();
        final CountDownLatch release = new CountDownLatch(1);

        StuckAppender() {
            super("stuck", null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent event) {
            events.add(event.toImmutable());
        }

        @Override
        public boolean stop(long timeout, TimeUnit unit) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return super.stop(timeout, unit);
        }
    }

    @Test
    void theMessageCarriesTheCrashAsFields() {
        StringMapMessage m = Log4j2CrashListener.message(event());
        assertEquals("native crash: SIGSEGV in libcodec.so+0x1234 (decode_frame) on thread \"worker-1\"", m.get("message"));
        assertEquals("SIGSEGV", m.get("crash.kind"));
        assertEquals("11", m.get("crash.code"));
        assertEquals("0x7f0000001234", m.get("crash.pc"));
        assertEquals("0x0", m.get("crash.fault_address"));
        assertEquals("/opt/app/libcodec.so", m.get("crash.module"));
        assertEquals("0x1234", m.get("crash.module_offset"));
        assertEquals("decode_frame", m.get("crash.symbol"));
        assertEquals("worker-1", m.get("crash.thread"));
        assertEquals("true", m.get("crash.java_thread"));
        assertEquals("com.example.Native.decode()V", m.get("crash.native_method"));
        assertEquals("abc123", m.get("crash.signature"));
        assertEquals(Path.of("/tmp/crashagent_pid7.json").toString(), m.get("crash.report"));

        CrashEvent unknown = new CrashEvent("SIGILL", 4, 0, 0x10, null, 0, null, "t", false, null, null, null, null, null, 0);
        StringMapMessage u = Log4j2CrashListener.message(unknown);
        assertEquals("native crash: SIGILL in unknown code at 0x10 on thread \"t\"", u.get("message"));
        assertFalse(u.containsKey("crash.module"));
        assertFalse(u.containsKey("crash.module_offset"));
        assertFalse(u.containsKey("crash.signature"));
    }

    @Test
    void aStuckAppenderCannotHoldTheListenerBeyondItsTimeout() throws Exception {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        StuckAppender stuck = new StuckAppender();
        stuck.start();
        config.addAppender(stuck);
        config.getRootLogger().addAppender(stuck, Level.ALL, null);
        context.updateLoggers();
        try {
            Log4j2CrashListener listener = new Log4j2CrashListener(LogManager.getLogger("crash-test"), Duration.ofMillis(200));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> listener.onCrash(event()));
            assertEquals("Log4j2 did not stop within 200 ms; lines may be lost", e.getMessage());

            assertEquals(1, stuck.events.size());
            LogEvent fatal = stuck.events.get(0);
            assertEquals(Level.FATAL, fatal.getLevel());
            assertTrue(fatal.getMessage() instanceof StringMapMessage);
            assertEquals("SIGSEGV", ((StringMapMessage) fatal.getMessage()).get("crash.kind"));
            assertArrayEquals(STACK, fatal.getThrown().getStackTrace());
            assertEquals("Java stack of thread \"worker-1\" at the native crash in com.example.Native.decode()V",
                    fatal.getThrown().getMessage());
        } finally {
            stuck.release.countDown();
        }
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> new Log4j2CrashListener(LogManager.getLogger("x"), Duration.ZERO));
        assertThrows(NullPointerException.class, () -> new Log4j2CrashListener(null, Duration.ofSeconds(1)));
    }
}
