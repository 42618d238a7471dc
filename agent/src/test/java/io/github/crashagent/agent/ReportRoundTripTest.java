// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A real report, read back with CrashReport.read, gives the same values the listener saw in the
 * crashing JVM (the listener saves them as JSON: CrashApp.writeEventJson).
 */
@EnabledOnOs(OS.LINUX)
class ReportRoundTripTest {
    static Stream<Arguments> crashes() throws Exception {
        List<Arguments> cases = new ArrayList<>();
        for (Path jdk : ChildJvm.jdks().toList()) {
            for (String crash : List.of("null-write", "abort", "own-thread")) {
                cases.add(Arguments.of(jdk, crash));
            }
        }
        return cases.stream();
    }

    private static String textOrNull(JsonNode node) {
        return node.isNull() ? null : node.asText();
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("crashes")
    void theReportReadBackEqualsWhatTheListenerSaw(Path jdk, String crash) throws Exception {
        Result r = ChildJvm.builder(jdk, "round-trip-" + crash).agent("").args("round-trip", crash).run();
        assertNotEquals(0, r.exitCode(), r::toString);
        Path file = r.onlyFile("crashagent_pid", ".json");
        ChildJvm.readReport(file);  // matches the schema
        CrashReport report = CrashReport.read(file);
        JsonNode seen = ChildJvm.JSON.readTree(r.dir().resolve("listener-event.json").toFile());
        CrashEvent e = report.event();

        assertEquals(seen.get("kind").asText(), e.kind());
        assertEquals(seen.get("code").asLong(), e.code());
        assertEquals(seen.get("faultAddress").asLong(), e.faultAddress());
        assertEquals(seen.get("hasFaultAddress").asBoolean(), e.hasFaultAddress());
        assertEquals(seen.get("origin").asText(), e.origin());
        // abort() sends its signal: no fault address; the null write has one.
        assertEquals(!crash.equals("abort"), e.hasFaultAddress());
        assertEquals(seen.get("pc").asLong(), e.pc());
        assertEquals(textOrNull(seen.get("module")), e.module());
        assertEquals(seen.get("moduleOffset").asLong(), e.moduleOffset());
        assertEquals(textOrNull(seen.get("symbol")), e.symbol());
        assertEquals(textOrNull(seen.get("threadName")), e.threadName());
        assertEquals(seen.get("javaThread").asBoolean(), e.javaThread());
        assertEquals(textOrNull(seen.get("nativeMethod")), e.nativeMethod());
        List<StackTraceElement> stack = new ArrayList<>();
        for (JsonNode f : seen.get("javaStackTrace")) {
            stack.add(new StackTraceElement(f.get("class").asText(), f.get("method").asText(),
                    textOrNull(f.get("file")), f.get("line").asInt()));
        }
        assertArrayEquals(stack.toArray(new StackTraceElement[0]), e.javaStackTrace());
        List<String> frames = new ArrayList<>();
        seen.get("nativeFrames").forEach(f -> frames.add(f.asText()));
        assertEquals(frames, e.nativeFrames());
        assertEquals(textOrNull(seen.get("signature")), e.signature());
        assertEquals(Path.of(seen.get("reportFile").asText()).toRealPath(), e.reportFile().toRealPath());
        assertEquals(seen.get("timestamp").asLong(), e.timestamp());

        // and the values are the crash's, not just equal by accident (both empty)
        assertEquals(r.pid(), report.pid());
        assertTrue(e.module().endsWith("/libcrashtest.so"), e::toString);
        assertTrue(e.nativeFrames().size() >= 2, e::toString);
        assertTrue(e.signature() != null && !e.signature().isEmpty(), e::toString);
        assertEquals(crash.equals("abort") ? "SIGABRT" : "SIGSEGV", e.kind());
        assertEquals(!crash.equals("own-thread"), e.javaThread());
        assertEquals(crash.equals("own-thread"), e.javaStackTrace().length == 0, e::toString);
        assertEquals(CrashReport.DispatchStatus.COMPLETE, report.dispatchStatus());
        assertEquals(1, report.listenerOutcomes().size());
        assertEquals("ok", report.listenerOutcomes().get(0).outcome());
    }
}
