// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.CrashReport;
import io.github.crashagent.NativeCall;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * native-calls=: the JNI calls a child JVM made before it crashed, in order, with their methods
 * and integer arguments; and what the option must not change.
 */
@EnabledOnOs(OS.LINUX)
class NativeCallsTest {
    private static final String NATIVE = "io.github.crashagent.testapp.CrashNative.";
    private static final String TRACE = "native-calls=io.github.crashagent.testapp.CrashNative";

    static Stream<Path> jdks() throws Exception {
        return ChildJvm.jdks();
    }

    private static Result run(String name, String agentOptions, String... args) throws Exception {
        return run(ChildJvm.jdks().findFirst().orElseThrow(), name, agentOptions, args);
    }

    private static Result run(Path jdk, String name, String agentOptions, String... args) throws Exception {
        return ChildJvm.builder(jdk, name).agent(agentOptions).mainClass(ChildJvm.CRASH_APP).args(args)
                .timeout(Duration.ofSeconds(120)).run();
    }

    /** The calls CrashApp native-calls makes on the main thread before it crashes, with their arguments. */
    static final List<String> MAIN_THREAD_CALLS = List.of("callA(I)I [1]", "callB(JIZ)J [2, -3, 1]",
            "mix(IDJFIIIDSB)D [1, 3, 5]", "callA(I)I [-5]", "nullWriteWhen(Z)V [0]", "nullWriteWhen(Z)V [1]");
    /** What those calls print: a thunk that changed an argument changes a line. */
    static final String MAIN_THREAD_RESULTS = "callA(1)=2\ncallB(2,-3,true)=18\nmix=-1.2345679E7\ncallA(-5)=-4\n";

    static String call(JsonNode c) {
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(a.isNull() ? "ref" : a.asText()));
        return c.path("method").asText().substring(NATIVE.length()) + " " + args;
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void theCallsBeforeTheCrashAppearInOrderWithTheirArguments(Path jdk) throws Exception {
        Result r = run(jdk, "native-calls", TRACE, "native-calls");
        assertEquals(134, r.exitCode(), r::toString);
        // The thunks passed every argument through: the methods returned what they compute.
        assertContains(r.stdout(), MAIN_THREAD_RESULTS, r);
        JsonNode report = r.report();
        ChildJvm.assertMatchesSchema(report, r);

        JsonNode thread = report.at("/native_calls/thread");
        List<String> calls = new ArrayList<>();
        thread.forEach(c -> calls.add(call(c)));
        assertTrue(calls.size() >= 6, () -> "too few calls recorded: " + calls + "\n" + report.toPrettyString());
        // mix(IDJFIIIDSB): the first three integer arguments, in order; the floats are not recorded.
        assertEquals(MAIN_THREAD_CALLS, calls.subList(calls.size() - 6, calls.size()), report::toPrettyString);
        long previous = Long.MIN_VALUE;
        for (JsonNode c : thread) {
            long t = c.path("time_ns").asLong();
            assertTrue(t <= 0 && t >= previous && t > -60_000_000_000L, () -> "times relative to the crash: " + thread);
            previous = t;
        }
        assertTrue(report.at("/native_calls/times_known").asBoolean());
        assertEquals(0, report.at("/native_calls/torn_entries").asInt());

        // The process ring also holds the other thread's calls, before the main thread's.
        JsonNode process = report.at("/native_calls/process");
        long mainId = process.get(process.size() - 1).path("thread_id").asLong();
        List<String> others = new ArrayList<>();
        process.forEach(c -> {
            if (c.path("thread_id").asLong() != mainId) others.add(call(c));
        });
        assertEquals(List.of("callA(I)I [100]", "callA(I)I [101]"), others, process::toPrettyString);
        assertEquals(call(thread.get(thread.size() - 1)), call(process.get(process.size() - 1)));
        assertEquals(process.size(), report.at("/native_calls/recorded").asInt(), "fewer than 256: all kept");

        // The crash is named and signed as without the thunk: it left no frame of its own.
        assertEquals(NATIVE + "nullWriteWhen(Z)V", report.path("native_method").asText());
        assertEquals("Java_io_github_crashagent_testapp_CrashNative_nullWriteWhen",
                report.at("/native_frames/1/symbol").asText(), report::toPrettyString);
        Result plain = run(jdk, "native-calls-off", "", "native-calls");
        JsonNode plainReport = plain.report();
        assertEquals(plainReport.path("signature").asText(), report.path("signature").asText(), report::toPrettyString);
        assertEquals(plainReport.path("signature_text").asText(), report.path("signature_text").asText());
        assertTrue(plainReport.path("native_calls").isNull(), "no option, no native_calls: " + plainReport.path("native_calls"));
        assertEquals(List.of(), CrashReport.read(plain.onlyFile("crashagent_pid", ".json")).event().nativeCalls());
        assertEquals("[]\n[]\n", Files.readString(plain.dir().resolve("native-calls-view.txt")));
        assertFalse(plain.text("crashagent_pid", ".log").contains("native calls of"), plain::toString);

        // The listeners saw the same calls, and CrashReport reads them back alike.
        CrashReport read = CrashReport.read(r.onlyFile("crashagent_pid", ".json"));
        List<NativeCall> readThread = read.event().nativeCalls();
        assertEquals(thread.size(), readThread.size());
        NativeCall last = readThread.get(readThread.size() - 1);
        assertEquals(NATIVE + "nullWriteWhen(Z)V", last.method());
        assertEquals(List.of(1L), last.arguments());
        assertEquals(report.at("/thread/id").asLong(), last.threadId());
        assertEquals(thread.get(thread.size() - 1).path("time_ns").asLong(), last.timeNanos());
        assertEquals(process.size(), read.event().processNativeCalls().size());
        assertEquals(read.event().nativeCalls() + "\n" + read.event().processNativeCalls() + "\n",
                Files.readString(r.dir().resolve("native-calls-view.txt")));

        String log = r.text("crashagent_pid", ".log");
        assertContains(log, "native calls of the crashing thread (oldest first, time relative to the crash):\n", r);
        assertContains(log, " us " + NATIVE + "callB(JIZ)J (2, -3, 1)\n", r);
        assertContains(log, " us " + NATIVE + "nullWriteWhen(Z)V (1)\n", r);
        assertContains(log, " us [tid ", r);
        assertContains(log, "] " + NATIVE + "callA(I)I (101)\n", r);
    }

    @Test
    void methodsOutsideThePrefixesRunUntraced() throws Exception {
        Result r = run("native-calls-other", "native-calls=com.example.;org.other.Lib", "native-calls");
        assertEquals(134, r.exitCode(), r::toString);
        assertContains(r.stdout(), "mix=-1.2345679E7\n", r);
        JsonNode report = r.report();
        ChildJvm.assertMatchesSchema(report, r);
        assertEquals(0, report.at("/native_calls/thread").size(), report::toPrettyString);
        assertEquals(0, report.at("/native_calls/process").size(), report::toPrettyString);
        assertEquals(0, report.at("/native_calls/recorded").asInt());
    }

    @Test
    void npeStormWithEveryNativeMethodTracedGivesNoReport() throws Exception {
        List<String> c1 = List.of("-XX:TieredStopAtLevel=1");
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        Result r = ChildJvm.run(jdk, "npe-native-calls", "native-calls=all", Duration.ofSeconds(120), c1, "npe-storm",
                "200000");
        assertEquals(0, r.exitCode(), r::toString);
        assertContains(r.stdout(), "npe storm caught 200000", r);
        assertTrue(r.files("crashagent_pid", "").isEmpty(), r::toString);
        assertTrue(r.files("hs_err_pid", "").isEmpty(), r::toString);
        assertEquals("", r.stderr());
    }

    static Stream<CrashZoo.QuietCase> quietCases() {
        return CrashZoo.quietCases().stream();
    }

    /** The zoo's quiet cases (JVM-owned faults, a library's own handler, GC) with every native method traced. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("quietCases")
    void quietCasesStayQuietWithEveryNativeMethodTraced(CrashZoo.QuietCase q) throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        List<String> problems = CrashZoo.checkQuiet(jdk, q, "native-calls=all");
        assertTrue(problems.isEmpty(), () -> q.name() + ": " + String.join("\n", problems));
    }

    static Stream<CrashZoo.CrashCase> crashCases() {
        return CrashZoo.crashCases().stream();
    }

    /**
     * Every crash of the zoo with every native method traced: reported as without the option (exit
     * status, kind, native method, signature), and the method that entered the library is among
     * the crashing thread's recorded calls.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("crashCases")
    void zooCrashesAreReportedAsWithoutTheOption(CrashZoo.CrashCase c) throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        String traced = c.agentOptions().isEmpty() ? "native-calls=all" : c.agentOptions() + ",native-calls=all";
        Result r = ChildJvm.run(jdk, c.name() + "-traced", traced, CrashZoo.BOUND, List.of(), c.appArgs());
        Result untraced = ChildJvm.run(jdk, c.name() + "-untraced", c.agentOptions(), CrashZoo.BOUND, List.of(),
                c.appArgs());
        assertEquals(untraced.exitCode(), r.exitCode(), r::toString);
        JsonNode report = r.report();
        JsonNode expected = untraced.report();
        ChildJvm.assertMatchesSchema(report, r);
        for (String field : List.of("/crash/kind", "/native_method", "/signature", "/signature_text", "/thread/java")) {
            assertEquals(expected.at(field), report.at(field), () -> field + "\n" + report.toPrettyString());
        }
        assertTrue(report.path("native_calls").isObject(), report::toPrettyString);
        String nativeMethod = report.path("native_method").asText(null);
        if (nativeMethod != null) {
            List<String> methods = new ArrayList<>();
            report.at("/native_calls/thread").forEach(call -> methods.add(call.path("method").asText()));
            assertTrue(methods.contains(nativeMethod), () -> nativeMethod + " not in " + methods);
        }
    }

    /** Where the system refuses executable memory (SELinux deny_execmem), the agent says so once and records nothing. */
    @Test
    void withoutExecutableMemoryTheAgentSaysSoOnceAndRunsWithoutThunks() throws Exception {
        Path jdk = ChildJvm.jdks().findFirst().orElseThrow();
        Result r = ChildJvm.builder(jdk, "native-calls-no-execmem").agent(TRACE).mainClass(ChildJvm.CRASH_APP)
                .args("native-calls").timeout(Duration.ofSeconds(120))
                .environment(Map.of("LD_PRELOAD", ChildJvm.FULL_DISK_SHIM.toString(), "CRASHAGENT_DENY_EXEC", "1"))
                .run();
        assertEquals(134, r.exitCode(), r::toString);
        assertContains(r.stdout(), "callA(1)=2\ncallB(2,-3,true)=18\nmix=-1.2345679E7\ncallA(-5)=-4\n", r);
        String message = "crashagent: option 'native-calls': cannot make the call thunks (mprotect(PROT_READ|PROT_EXEC) "
                + "failed: Permission denied); native calls are not recorded\n";
        assertContains(r.stderr(), message, r);
        assertEquals(r.stderr().indexOf(message), r.stderr().lastIndexOf(message), "said once\n" + r);
        JsonNode report = r.report();
        ChildJvm.assertMatchesSchema(report, r);
        assertTrue(report.path("native_calls").isNull(), report::toPrettyString);
        assertEquals(NATIVE + "nullWriteWhen(Z)V", report.path("native_method").asText());
    }

    @Test
    void aBadPatternStopsTheJvmWithAClearMessage() throws Exception {
        Result r = run("native-calls-bad", "native-calls=com.*", "native-calls");
        assertNotEquals(0, r.exitCode());
        assertContains(r.stderr(), "option 'native-calls' has value 'com.*', with a character that is not in a class "
                + "name; allowed: all, or class or package prefixes separated by ';'", r);
    }
}
