// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.agent.ChildJvm.Result;
import io.github.crashagent.agent.CrashZoo.CrashCase;
import io.github.crashagent.agent.CrashZoo.QuietCase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Linux cases on aarch64: Debian's arm64 OpenJDK 17 under qemu-user, the cross-built agent
 * and JNI test library (agent/pom.xml, profile aarch64, sets the properties). The same zoo cases
 * and checks as CrashZooTest, on a subset that keeps the run short under emulation, plus the
 * aarch64 report itself and the brk trap, which is aarch64's __builtin_trap.
 */
@EnabledIfSystemProperty(named = "crashagent.javaHome", matches = ".+")
class Aarch64CrashIT {
    private static final String NATIVE = CrashZoo.NATIVE;
    private static final Set<String> CRASHES = Set.of("null-write", "abort", "bus-error", "library-thread",
            "native-stack-overflow", "execute-data", "listener-throws");
    private static final Set<String> QUIET = Set.of("java-stack-overflow", "own-sigsegv-handler");
    private static Path jdk;

    @BeforeAll
    static void arm64Jvm() throws Exception {
        jdk = ChildJvm.jdks().findFirst().orElseThrow();
        Result r = ChildJvm.run(jdk, "arch", null, "arch");
        // The cases below mean nothing if the children are not arm64 JVMs.
        assertContains(r.stdout(), "os.arch: aarch64\n", r);
    }

    static Stream<CrashCase> crashCases() {
        Map<String, CrashCase> byName = CrashZoo.crashCases().stream()
                .collect(Collectors.toMap(CrashCase::name, Function.identity()));
        assertTrue(byName.keySet().containsAll(CRASHES), "a case was renamed in CrashZoo");
        return CRASHES.stream().sorted().map(byName::get);
    }

    static Stream<QuietCase> quietCases() {
        List<QuietCase> quiet = CrashZoo.quietCases().stream().filter(q -> QUIET.contains(q.name())).toList();
        assertEquals(QUIET.size(), quiet.size(), "a quiet case was renamed in CrashZoo");
        // qemu-user takes 40 to 150 µs to deliver a signal: CrashZoo's 200,000 NPEs with stack
        // traces would take minutes. Each of these 20,000 is still a SIGSEGV the JVM handles.
        QuietCase npeStorm = new QuietCase("npe-storm-c1", List.of("-XX:TieredStopAtLevel=1", "-XX:-StackTraceInThrowable"),
                "npe-storm", "20000");
        return Stream.concat(Stream.of(npeStorm), quiet.stream());
    }

    /**
     * The diagnosis as far as the platform knows the access: the kernel passes the fault's syndrome
     * (ESR) in the signal frame, qemu-user does not, and then the report claims no access.
     */
    private static String diagnosis(String name, boolean knowsAccess) {
        String expected = CrashZoo.expectedDiagnosis(name);
        if (!knowsAccess && expected.equals("null pointer dereference (write)")) return "null pointer dereference";
        return expected;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("crashCases")
    void crashIsReportedCompletelyAndEndsAsWithoutTheAgent(CrashCase c) throws Exception {
        Result plain = ChildJvm.run(jdk, c.name() + "-plain", null, CrashZoo.BOUND, List.of(), c.appArgs());
        CrashZoo.Outcome outcome = CrashZoo.checkCrash(jdk, c, plain, diagnosis(c.name(), false));
        assertTrue(outcome.problems().isEmpty(), () -> c.name() + ": " + String.join("\n", outcome.problems()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("quietCases")
    void faultsTheJvmOrALibraryHandlesAreNotReported(QuietCase q) throws Exception {
        List<String> problems = CrashZoo.checkQuiet(jdk, q);
        assertTrue(problems.isEmpty(), () -> q.name() + ": " + String.join("\n", problems));
    }

    /** The aarch64 report: platform, every general register, and a walk from the signal context. */
    @Test
    void nullWriteReportHasTheAarch64RegistersAndFrames() throws Exception {
        Result r = ChildJvm.run(jdk, "aarch64-null-write", "", "null-write");
        assertEquals(134, r.exitCode(), r::toString);
        JsonNode report = r.report();
        assertEquals("linux-aarch64", report.path("platform").asText());
        JsonNode registers = report.path("registers");
        for (int i = 0; i <= 28; i++) {
            String name = "x" + i;
            assertTrue(registers.has(name), () -> "no " + name + " in " + registers);
        }
        for (String name : List.of("fp", "lr", "sp", "pc", "pstate")) {
            assertTrue(registers.has(name), () -> "no " + name + " in " + registers);
        }
        assertFalse(registers.has("rip"), registers::toString);
        assertEquals(report.at("/crash/pc").asText(), registers.path("pc").asText());
        assertEquals("0x0", report.at("/crash/fault_address").asText());
        boolean knowsAccess = registers.has("esr");
        assertEquals(diagnosis("null-write", knowsAccess), report.at("/crash/diagnosis").asText(), report::toPrettyString);
        assertTrue(report.at("/crash/module").asText().endsWith("/libcrashtest.so"), report::toPrettyString);
        assertEquals("_ZN12_GLOBAL__N_118write_through_nullEi", report.at("/native_frames/0/symbol").asText(),
                report::toPrettyString);
        // frame 1 comes from unwinding through the signal frame, not from the context
        assertEquals("Java_io_github_crashagent_testapp_CrashNative_nullWrite",
                report.at("/native_frames/1/symbol").asText(), report::toPrettyString);
        // the walk stops at the JVM's code that called the JNI function, named from the JVMTI code events
        assertFalse(report.at("/native_frames/2/jvm_code").asText("").isEmpty(), report::toPrettyString);
        assertEquals(NATIVE + ".nullWrite()V", report.path("native_method").asText());
        assertEquals(System.getProperty("crashagent.version"), report.path("agent_version").asText());
        assertEquals("complete", report.at("/dispatch/status").asText());
        assertContains(Files.readString(r.dir().resolve("listener-marker.txt")), "kind=SIGSEGV", r);
        String hsErr = r.text("hs_err_pid", ".log");
        assertContains(hsErr, "libcrashtest.so", r);
        assertContains(hsErr, "aarch64", r);
        assertTrue(hsErr.stripTrailing().endsWith("END."), () -> "hs_err is truncated\n" + r);
        assertEquals(r.onlyFile("hs_err_pid", ".log").toString(), report.at("/jvm/hs_err").asText());
    }

    /**
     * Only a brk the thread executed is a crash: SIGTRAP sent by another process (kill -TRAP) ends
     * the process as without the agent, with no report. (FORK: the arm64 JDK's spawn helper is an
     * arm64 program, which the host cannot start without qemu registered in binfmt_misc.)
     */
    @Test
    void aSigtrapSentByAnotherProcessIsNotReported() throws Exception {
        List<String> flags = List.of("-Djdk.lang.Process.launchMechanism=FORK");
        Result plain = ChildJvm.run(jdk, "aarch64-kill-trap-plain", null, CrashZoo.BOUND, flags, "killed", "TRAP");
        Result r = ChildJvm.run(jdk, "aarch64-kill-trap", "", CrashZoo.BOUND, flags, "killed", "TRAP");
        assertEquals(128 + 5, plain.exitCode(), plain::toString);
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertTrue(Files.exists(r.dir().resolve("sender.txt")), r::toString);
        assertTrue(r.files("crashagent_pid", "").isEmpty(), r::toString);
        assertTrue(r.files("hs_err_pid", "").isEmpty(), r::toString);
        assertFalse(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
    }

    /** `java -jar crashagent-agent.jar path` on an arm64 JVM extracts the aarch64 library, which then loads. */
    @Test
    @EnabledIfSystemProperty(named = "crashagent.jar", matches = ".+")
    void theAgentJarGivesAnArm64JvmTheAarch64Library() throws Exception {
        Path dir = ChildJvm.work().resolve("aarch64-jar-" + System.nanoTime());
        Files.createDirectories(dir);
        Process p = new ProcessBuilder(jdk.resolve("bin/java").toString(), "-jar", System.getProperty("crashagent.jar"),
                "path", dir.resolve("lib").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "java -jar still running");
        assertEquals(0, p.exitValue(), out);
        Path library = dir.resolve("lib/libcrashagent.so").toAbsolutePath();
        assertEquals("-agentpath:" + library + "\n", out);
        byte[] elf = Files.readAllBytes(library);
        assertEquals(183, (elf[18] & 0xff) | (elf[19] & 0xff) << 8, "e_machine is not EM_AARCH64");

        Result r = ChildJvm.builder(jdk, "aarch64-jar-agent").agent("").agentLibrary(library).args("null-write").run();
        assertEquals("linux-aarch64", r.report().path("platform").asText());
    }

    /** aarch64 faults misaligned exclusives and atomics: SIGBUS with BUS_ADRALN, then hs_err as without the agent. */
    @Test
    void misalignedExclusiveLoadIsAnAlignmentFault() throws Exception {
        Result plain = ChildJvm.run(jdk, "aarch64-misaligned-plain", null, "fault", "misaligned-exclusive");
        Result r = ChildJvm.run(jdk, "aarch64-misaligned", "", "fault", "misaligned-exclusive");
        assertEquals(134, plain.exitCode(), plain::toString);
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        JsonNode report = r.report();
        assertEquals("SIGBUS", report.at("/crash/kind").asText());
        assertEquals("BUS_ADRALN", report.at("/crash/detail").asText());
        assertTrue(report.at("/crash/diagnosis").asText().startsWith("misaligned memory access at 0x"), report::toPrettyString);
        // the test library loads from buffer + 1, a 16-byte aligned buffer
        long address = Long.parseUnsignedLong(report.at("/crash/fault_address").asText().substring(2), 16);
        assertEquals(1, address & 15, report::toPrettyString);
        assertEquals("io.github.crashagent.testapp.Zoo.misalignedExclusive()J", report.path("native_method").asText());
        assertEquals(r.onlyFile("hs_err_pid", ".log").toString(), report.at("/jvm/hs_err").asText());
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
    }

    /**
     * gcc compiles __builtin_trap() to brk on aarch64: SIGTRAP, for which HotSpot has no handler
     * and writes no hs_err. The agent reports it and the process still dies of SIGTRAP.
     */
    @Test
    void builtinTrapIsABrkThatIsReportedAndStillEndsTheProcessWithSigtrap() throws Exception {
        Result plain = ChildJvm.run(jdk, "aarch64-trap-plain", null, "fault", "illegal-instruction");
        Result r = ChildJvm.run(jdk, "aarch64-trap", "", "fault", "illegal-instruction");
        assertEquals(128 + 5, plain.exitCode(), plain::toString);
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertTrue(plain.files("hs_err_pid", "").isEmpty() && r.files("hs_err_pid", "").isEmpty(), r::toString);
        JsonNode report = r.report();
        assertEquals("SIGTRAP", report.at("/crash/kind").asText());
        assertEquals("TRAP_BRKPT", report.at("/crash/detail").asText());
        assertTrue(report.at("/crash/diagnosis").asText().startsWith("breakpoint trap (a brk instruction"),
                report::toPrettyString);
        assertEquals("io.github.crashagent.testapp.Zoo.illegalInstruction()V", report.path("native_method").asText());
        assertTrue(report.at("/jvm/hs_err").isNull(), report::toPrettyString);
        assertEquals("complete", report.at("/dispatch/status").asText());
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
    }

    /** native-calls= on aarch64: the entry thunks record the calls and pass every argument through. */
    @Test
    void nativeCallsAreRecordedInOrderWithTheirArguments() throws Exception {
        Result r = ChildJvm.builder(jdk, "native-calls").agent("native-calls=io.github.crashagent.testapp.CrashNative")
                .mainClass(ChildJvm.CRASH_APP).args("native-calls").timeout(Duration.ofSeconds(300)).run();
        assertEquals(134, r.exitCode(), r::toString);
        assertContains(r.stdout(), NativeCallsTest.MAIN_THREAD_RESULTS, r);
        JsonNode report = r.report();
        ChildJvm.assertMatchesSchema(report, r);
        List<String> calls = new ArrayList<>();
        report.at("/native_calls/thread").forEach(c -> calls.add(NativeCallsTest.call(c)));
        assertTrue(calls.size() >= 6, () -> "too few calls recorded: " + calls + "\n" + report.toPrettyString());
        assertEquals(NativeCallsTest.MAIN_THREAD_CALLS, calls.subList(calls.size() - 6, calls.size()));
        assertEquals(CrashZoo.NATIVE + ".nullWriteWhen(Z)V", report.path("native_method").asText());
        assertEquals("Java_io_github_crashagent_testapp_CrashNative_nullWriteWhen",
                report.at("/native_frames/1/symbol").asText(), report::toPrettyString);
    }
}
