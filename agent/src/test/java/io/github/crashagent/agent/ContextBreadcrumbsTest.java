// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.Breadcrumb;
import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm.Result;
import io.github.crashagent.testapp.ContextApp;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CrashAgent.putContext, removeContext and breadcrumb in child JVMs that crash in JNI: the report,
 * its log and the listeners' event hold the latest values, and never a torn entry.
 * The stress test runs {@code crashagent.contextStressRounds} rounds (default 3); for a long run:
 * {@code mvn -B -pl java-api,agent -am verify -Dcrashagent.windows=false -Dtest=ContextBreadcrumbsTest#crashesInTheMiddleOfWritesNeverShowATornEntry -Dcrashagent.contextStressRounds=200 -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@EnabledOnOs(OS.LINUX)
class ContextBreadcrumbsTest {
    private static final String APP = "io.github.crashagent.testapp.ContextApp";
    private static final int WRITERS = 4;

    static Stream<Path> jdks() throws IOException {
        return ChildJvm.jdks();
    }

    private static Result run(Path jdk, String name, String agentOptions, String... args) throws Exception {
        return ChildJvm.builder(jdk, name).agent(agentOptions).mainClass(APP).args(args)
                .timeout(Duration.ofSeconds(120)).run();
    }

    /** A breadcrumb of a writer is exactly what ContextApp.message built for its tag and round; returns the round. */
    private static long assertWholeBreadcrumb(JsonNode b, Object context) {
        String message = b.path("message").asText();
        String[] parts = message.split(" ", 3);
        assertTrue(parts.length >= 2 && parts[0].matches("w[0-9]+") && parts[1].matches("[0-9]+"),
                () -> "not a writer's breadcrumb: " + b + "\n" + context);
        long round = Long.parseLong(parts[1]);
        assertEquals(ContextApp.message(parts[0], round), message, () -> "torn breadcrumb " + b + "\n" + context);
        assertEquals("writer-" + parts[0].substring(1), b.path("thread").asText(), () -> b + "\n" + context);
        return round;
    }

    private static void assertWholeValue(String value, Object context) {
        String[] parts = value.split(":", 3);
        assertTrue(parts.length == 3 && parts[1].matches("[0-9]+"), () -> "not a writer's value: " + value + "\n" + context);
        assertEquals(ContextApp.value(parts[0], Long.parseLong(parts[1])), value, () -> "torn value " + value + "\n" + context);
    }

    /** Each writer's breadcrumbs appear in the order it wrote them; returns the rounds seen per writer. */
    private static Map<String, Long> assertWritersInOrder(JsonNode breadcrumbs, Object context) {
        Map<String, Long> last = new HashMap<>();
        for (JsonNode b : breadcrumbs) {
            if (!b.path("thread").asText().startsWith("writer-")) continue;
            long round = assertWholeBreadcrumb(b, context);
            String thread = b.path("thread").asText();
            Long before = last.put(thread, round);
            assertTrue(before == null || before < round, () -> thread + " out of order at " + b + "\n" + context);
        }
        return last;
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void theReportHoldsTheLatestContextAndBreadcrumbsOfEveryThread(Path jdk) throws Exception {
        Result r = run(jdk, "context-latest", "", "latest", Integer.toString(WRITERS));
        assertEquals(134, r.exitCode(), r::toString);
        JsonNode report = r.report();
        ChildJvm.assertMatchesSchema(report, r);

        JsonNode context = report.path("context");
        for (int w = 0; w < WRITERS; w++) {
            assertEquals(ContextApp.value("w" + w, ContextApp.ROUNDS - 1), context.path("w" + w).asText(), report::toPrettyString);
            assertTrue(context.path("gone-w" + w).isMissingNode(), "a removed key is left out\n" + context);
        }
        assertEquals("req-42 ünïcödé 😀", context.path("request").asText());
        assertEquals("a\u0000b", context.path("nul").asText());
        assertEquals("€".repeat(85), context.path("long-value").asText(), "cut at 256 bytes, at a character boundary");
        assertEquals("long key", context.path("k".repeat(64)).asText(), context::toPrettyString);
        // 64 slots: the 4 removed keys keep theirs, 12 of the fill keys found none.
        assertEquals(60, context.size(), context::toPrettyString);
        assertEquals(12, report.at("/context_stats/keys_refused").asInt(), report::toPrettyString);
        assertEquals(0, report.at("/context_stats/torn_entries").asInt(), "every writer had finished");
        assertEquals(WRITERS * ContextApp.ROUNDS + 2, report.at("/context_stats/breadcrumbs_written").asInt());

        JsonNode breadcrumbs = report.path("breadcrumbs");
        assertEquals(100, breadcrumbs.size(), "the default ring keeps 100");
        JsonNode last = breadcrumbs.get(99);
        assertEquals("last before crash", last.path("message").asText());
        assertEquals("main", last.path("thread").asText());
        assertTrue(last.path("java_thread_id").asLong() > 0, last::toString);
        assertEquals("é".repeat(96), breadcrumbs.get(98).path("message").asText(), "cut at 192 bytes");
        long crashTime = report.path("timestamp_ms").asLong();
        assertTrue(last.path("time_ms").asLong() <= crashTime && last.path("time_ms").asLong() > crashTime - 60_000, last::toString);
        assertFalse(assertWritersInOrder(breadcrumbs, report).isEmpty(), "the ring holds the writers' last breadcrumbs");

        String log = r.text("crashagent_pid", ".log");
        assertContains(log, "context:\n", r);
        assertContains(log, "  request = req-42 ünïcödé 😀\n", r);
        assertContains(log, "  nul = a?b\n", r);
        assertContains(log, "] last before crash\n", r);
        assertContains(log, " ms [main #" + last.path("java_thread_id").asLong() + "] last before crash", r);
        assertContains(log, "(12 puts of new keys were refused: the map holds 64 keys)", r);

        // The listeners saw the same, and CrashReport reads it back alike.
        JsonNode view = ChildJvm.JSON.readTree(r.dir().resolve("listener-view.json").toFile());
        assertEquals(context, view.path("context"), view::toPrettyString);
        assertEquals(breadcrumbs, view.path("breadcrumbs"));
        CrashReport read = CrashReport.read(r.onlyFile("crashagent_pid", ".json"));
        assertEquals(ChildJvm.JSON.convertValue(context, Map.class), read.event().context());
        List<Breadcrumb> readCrumbs = read.event().breadcrumbs();
        assertEquals(new Breadcrumb(last.path("time_ms").asLong(), last.path("java_thread_id").asLong(), "main",
                "last before crash"), readCrumbs.get(99));
        // Keys in the order they were first put: the writers' before the main thread's.
        List<String> keys = List.copyOf(read.event().context().keySet());
        assertEquals(List.of("request", "nul", "long-value"), keys.subList(WRITERS, WRITERS + 3), keys::toString);
    }

    @Test
    void aSmallerRingAndNoRingFollowTheOption() throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        Result ten = run(jdk, "context-ring-10", "breadcrumbs=10", "latest", "2");
        JsonNode crumbs = ten.report().path("breadcrumbs");
        assertEquals(10, crumbs.size(), ten::toString);
        assertEquals("last before crash", crumbs.get(9).path("message").asText());
        assertContains(ten.text("crashagent_pid", ".log"), " written since the start; the report keeps the last 10)", ten);

        Result off = run(jdk, "context-ring-off", "breadcrumbs=0", "latest", "2");
        JsonNode report = off.report();
        ChildJvm.assertMatchesSchema(report, off);
        assertEquals(0, report.path("breadcrumbs").size(), report::toPrettyString);
        assertEquals("req-42 ünïcödé 😀", report.at("/context/request").asText(), "the context does not need the ring");
    }

    @Test
    void badBreadcrumbValuesStopTheJvmWithAClearMessage() throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        for (String bad : List.of("many", "10001", "-1", "")) {
            Result r = run(jdk, "context-bad-option", "breadcrumbs=" + bad, "noop");
            assertNotEquals(0, r.exitCode(), r::toString);
            assertContains(r.stderr(), "option 'breadcrumbs' has value '" + bad
                    + "'; allowed: a whole number from 0 (off) to 10000 (default 100)", r);
        }
        Result twice = run(jdk, "context-option-twice", "breadcrumbs=5,breadcrumbs=6", "noop");
        assertContains(twice.stderr(), "option 'breadcrumbs' is given twice", twice);
    }

    @Test
    void withoutACrashOrWithoutTheAgentTheCallsDoNothingVisible() throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        for (String options : new String[] {null, ""}) {
            Result r = run(jdk, "context-noop", options, "noop");
            assertEquals(0, r.exitCode(), r::toString);
            assertContains(r.stdout(), "context calls returned", r);
            assertTrue(r.files("crashagent_pid", "").isEmpty(), r::toString);
            assertEquals("", r.stderr());
        }
    }

    @Test
    void implicitNullChecksWhileBreadcrumbsAreWrittenAreNotReported() throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        Result r = ChildJvm.builder(jdk, "context-npe-storm").agent("").mainClass(APP).args("npe-storm")
                .jvmFlags("-XX:TieredStopAtLevel=1").timeout(Duration.ofSeconds(120)).run();
        assertEquals(0, r.exitCode(), r::toString);
        assertContains(r.stdout(), "npe storm caught 200000", r);
        assertTrue(r.files("crashagent_pid", "").isEmpty(), r::toString);
        assertTrue(r.files("hs_err_pid", "").isEmpty(), r::toString);
        assertEquals("", r.stderr());
    }

    @Test
    void crashesInTheMiddleOfWritesNeverShowATornEntry() throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        int rounds = Integer.getInteger("crashagent.contextStressRounds", 3);
        int tornSeen = 0;
        for (int round = 0; round < rounds; round++) {
            Result r = run(jdk, "context-stress", "breadcrumbs=64,timeout=30000", "stress", Integer.toString(WRITERS));
            assertEquals(134, r.exitCode(), r::toString);
            JsonNode report = r.report();
            ChildJvm.assertMatchesSchema(report, r);
            JsonNode breadcrumbs = report.path("breadcrumbs");
            // The ring went round many times; entries left out were being written at the crash.
            assertTrue(report.at("/context_stats/breadcrumbs_written").asLong() > (long) WRITERS * ContextApp.STRESS_READY, r::toString);
            int torn = report.at("/context_stats/torn_entries").asInt();
            tornSeen += torn;
            // Each entry is whole or left out; the writers can collide with the copy only so often.
            assertTrue(breadcrumbs.size() >= 32 && breadcrumbs.size() <= 64, report::toPrettyString);
            assertFalse(assertWritersInOrder(breadcrumbs, report).isEmpty(), breadcrumbs::toPrettyString);
            JsonNode context = report.path("context");
            for (Iterator<Map.Entry<String, JsonNode>> it = context.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                assertWholeValue(e.getValue().asText(), report);
                if (!e.getKey().equals("shared")) {
                    assertTrue(e.getValue().asText().startsWith(e.getKey() + ":"), () -> e + "\n" + report);
                }
            }
            // Every key the writers set (theirs and "shared") is in the report, or was still being
            // written after the copy's pauses and is counted torn: none goes missing unaccounted.
            assertTrue(context.size() + torn >= WRITERS + 1, report::toPrettyString);
            // The listeners got the same copy.
            JsonNode view = ChildJvm.JSON.readTree(r.dir().resolve("listener-view.json").toFile());
            assertEquals(context, view.path("context"));
            assertEquals(breadcrumbs, view.path("breadcrumbs"));
        }
        System.out.println("context stress: " + rounds + " rounds, " + tornSeen + " torn entries left out");
    }
}
