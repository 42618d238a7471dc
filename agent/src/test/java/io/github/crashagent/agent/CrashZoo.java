// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.agent.ChildJvm.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The reliability matrix: every fault kind, thread kind and race, each checked against a run of the
 * same program without the agent; and workloads where the JVM or a library handles its own faults,
 * which must produce no report. Used by CrashZooTest (each case once) and ZooSoak (N times).
 */
final class CrashZoo {
    private CrashZoo() {}

    static final String APP = "io.github.crashagent.testapp.CrashApp";
    static final String NATIVE = "io.github.crashagent.testapp.CrashNative";
    static final String ZOO = "io.github.crashagent.testapp.Zoo";

    /** A child JVM that must end within this bound, or it counts as a hang. */
    static final Duration BOUND = Duration.ofSeconds(45);

    /**
     * @param kind        expected signal name
     * @param module      expected file name of the crash module, or null when none applies
     * @param nativeMethod expected Java native method, or null when the report cannot know one
     * @param javaFrame   a CrashApp method expected on the Java stack, or null for non-Java threads
     * @param hsErr       whether HotSpot writes an hs_err file for this crash
     */
    record CrashCase(String name, String agentOptions, String kind, String module, String nativeMethod,
                     String javaFrame, boolean hsErr, boolean listenerCompletes, String... appArgs) {
        @Override
        public String toString() {
            return name;
        }
    }

    record QuietCase(String name, List<String> jvmFlags, String... appArgs) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<CrashCase> crashCases() {
        String lib = "libcrashtest.so";
        return List.of(
                fault("null-read", "SIGSEGV", ZOO + ".nullRead()I", true),
                fault("null-write", "SIGSEGV", NATIVE + ".nullWrite()V", true),
                fault("wild-pointer", "SIGSEGV", ZOO + ".wildPointer()V", true),
                fault("write-read-only", "SIGSEGV", ZOO + ".writeReadOnly()V", true),
                fault("execute-data", "SIGSEGV", ZOO + ".executeData()V", true),
                fault("illegal-instruction", "SIGILL", ZOO + ".illegalInstruction()V", true),
                fault("divide-by-zero", "SIGFPE", ZOO + ".divideByZero()I", true),
                fault("abort", "SIGABRT", NATIVE + ".abortNow()V", false),
                fault("double-free", "SIGABRT", ZOO + ".doubleFree()V", false),
                fault("uncaught-cpp-exception", "SIGABRT", ZOO + ".uncaughtCppException()V", false),
                fault("native-stack-overflow", "SIGSEGV", NATIVE + ".recurseForever()I", false),
                fault("bus-error", "SIGBUS", ZOO + ".busError()I", true),
                fault("memcpy-null", "SIGSEGV", ZOO + ".memcpyToNull()V", true),
                new CrashCase("library-thread", "", "SIGSEGV", lib, null, null, true, true, "fault", "library-thread"),
                new CrashCase("attached-thread", "", "SIGSEGV", lib, null, null, true, true, "fault", "attached-thread"),
                new CrashCase("finalizer-thread", "", "SIGSEGV", lib, NATIVE + ".nullWrite()V", "finalizeInJni", true, true,
                        "fault", "finalizer-thread"),
                new CrashCase("nested-jni", "", "SIGSEGV", lib, NATIVE + ".nullWrite()V", "fault", true, true,
                        "fault", "nested-jni"),
                new CrashCase("eight-threads", "", "SIGSEGV", lib, NATIVE + ".nullWriteCounted()V", null, true, true,
                        "concurrent", "8"),
                new CrashCase("malloc-busy", "", "SIGSEGV", lib, NATIVE + ".nullWrite()V", "crashInJni", true, true,
                        "malloc-busy"),
                new CrashCase("listener-crashes", "", "SIGSEGV", lib, NATIVE + ".nullWrite()V", "crashInJni", true, false,
                        "listener-crashes"),
                new CrashCase("listener-throws", "", "SIGSEGV", lib, NATIVE + ".nullWrite()V", "crashInJni", true, true,
                        "listener-throws"),
                new CrashCase("listener-hangs", "timeout=1000", "SIGSEGV", lib, NATIVE + ".nullWrite()V", "crashInJni",
                        true, false, "listener-hangs"));
    }

    /** How the report's diagnosis begins for each crash case. */
    static String expectedDiagnosis(String name) {
        return switch (name) {
            case "null-read", "attached-thread" -> "null pointer dereference (read)";
            case "wild-pointer" -> "access through a wild pointer";
            case "write-read-only" -> "write to read-only memory at ";
            case "execute-data" -> "execution of non-executable memory at ";
            case "illegal-instruction" -> "illegal instruction";
            case "divide-by-zero" -> "integer division by zero";
            case "abort" -> "abort() called by libcrashtest.so (SIGABRT)";
            case "double-free" -> "abort() called by libcrashtest.so";
            case "uncaught-cpp-exception" -> "uncaught C++ exception (std::terminate)";
            case "native-stack-overflow" -> "stack overflow: thread ";
            case "bus-error" -> "access to a mapped file beyond its end";
            default -> "null pointer dereference (write)";  // null writes, memcpy to null, thread variants
        };
    }

    private static CrashCase fault(String name, String kind, String nativeMethod, boolean hsErr) {
        return new CrashCase(name, "", kind, "libcrashtest.so", nativeMethod, "fault", hsErr, true, "fault", name);
    }

    static List<QuietCase> quietCases() {
        return List.of(
                new QuietCase("npe-storm-c1", List.of("-XX:TieredStopAtLevel=1"), "npe-storm", "200000"),
                new QuietCase("safepoints", List.of(), "quiet", "safepoints"),
                new QuietCase("java-stack-overflow", List.of(), "stack-overflow"),
                new QuietCase("mapped-truncated", List.of(), "quiet", "mapped-truncated"),
                new QuietCase("own-sigsegv-handler", List.of(), "quiet", "own-handler"),
                new QuietCase("gc-heavy", List.of("-Xmx64m"), "quiet", "gc-heavy"));
    }

    /** What one run of a crash case showed, and every way it fell short. */
    record Outcome(boolean completeReport, boolean hsErrPresent, long millis, List<String> problems) {}

    static Outcome checkCrash(Path jdk, CrashCase c, Result plain) throws IOException, InterruptedException {
        return checkCrash(jdk, c, plain, expectedDiagnosis(c.name()));
    }

    /** As above, with the start of the diagnosis given (a platform that knows less about the fault). */
    static Outcome checkCrash(Path jdk, CrashCase c, Result plain, String expected)
            throws IOException, InterruptedException {
        Result r = ChildJvm.run(jdk, c.name(), c.agentOptions(), BOUND, List.of(), c.appArgs());
        List<String> problems = new ArrayList<>();
        if (r.exitCode() != plain.exitCode()) {
            problems.add("exit " + r.exitCode() + " but " + plain.exitCode() + " without the agent");
        }
        List<Path> reports = r.files("crashagent_pid", ".json");
        List<Path> leftovers = r.files("crashagent_pid", ".tmp");
        if (!leftovers.isEmpty()) problems.add("temporary files left: " + leftovers);
        boolean complete = false;
        if (reports.size() != 1) {
            problems.add(reports.size() + " reports");
        } else {
            JsonNode report = ChildJvm.JSON.readTree(reports.get(0).toFile());
            ChildJvm.schemaProblems(report).forEach(m -> problems.add("schema: " + m));
            String log = r.text("crashagent_pid", ".log");
            String status = report.at("/dispatch/status").asText();
            complete = log.contains("end of crashagent report") && !status.equals("pending");
            if (!complete) problems.add("report incomplete (dispatch " + status + ")");
            expect(problems, "kind", c.kind(), report.at("/crash/kind").asText());
            String module = report.at("/crash/module").asText(null);
            if (c.module() != null && (module == null || !Path.of(module).getFileName().toString().equals(c.module()))) {
                problems.add("module " + module + ", expected " + c.module());
            }
            if (c.nativeMethod() != null) expect(problems, "native method", c.nativeMethod(), report.path("native_method").asText(null));
            if (c.javaFrame() != null && !hasFrame(report.path("java_stack"), APP, c.javaFrame())) {
                problems.add("no " + APP + "." + c.javaFrame() + " on the Java stack " + report.path("java_stack"));
            }
            String diagnosis = report.at("/crash/diagnosis").asText("");
            if (diagnosis.isEmpty()) problems.add("no diagnosis");
            if (!diagnosis.startsWith(expected)) {
                problems.add("diagnosis '" + diagnosis + "', expected it to start with '" + expected + "'");
            }
            // The report claims an hs_err exactly when HotSpot writes one, and names it.
            JsonNode claimed = report.at("/jvm/hs_err");
            if (c.hsErr() != !claimed.isNull()) problems.add("the report's hs_err is " + claimed);
            if (c.hsErr() && !claimed.isNull() && !Files.exists(Path.of(claimed.asText()))) {
                problems.add("the report's hs_err " + claimed + " was not written");
            }
            if (c.listenerCompletes()) {
                expect(problems, "dispatch", "complete", status);
                if (!Files.exists(r.dir().resolve("listener-marker.txt"))) problems.add("the listener did not run");
            }
        }
        List<Path> hsErrs = r.files("hs_err_pid", ".log");
        // hs_err may hold bytes that are not UTF-8 (raw memory, names): read it leniently.
        boolean hsErr = hsErrs.size() == 1 && new String(Files.readAllBytes(hsErrs.get(0)), StandardCharsets.UTF_8)
                .stripTrailing().endsWith("END.");
        if (hsErr != c.hsErr()) problems.add("hs_err " + (hsErr ? "present" : "missing or truncated") + ": " + hsErrs);
        if (plain.files("hs_err_pid", ".log").isEmpty() == c.hsErr()) {
            problems.add("the run without the agent disagrees about hs_err: the case table is wrong");
        }
        if (!problems.isEmpty()) problems.add("in " + r.dir());
        return new Outcome(complete, hsErr, r.elapsed().toMillis(), problems);
    }

    /** Runs a quiet case with and without the agent; returns the differences (empty is good). */
    static List<String> checkQuiet(Path jdk, QuietCase q) throws IOException, InterruptedException {
        return checkQuiet(jdk, q, "");
    }

    /** The same, with these agent options. */
    static List<String> checkQuiet(Path jdk, QuietCase q, String agentOptions) throws IOException, InterruptedException {
        Result plain = ChildJvm.run(jdk, q.name() + "-plain", null, BOUND, q.jvmFlags(), q.appArgs());
        Result r = ChildJvm.run(jdk, q.name() + (agentOptions.isEmpty() ? "" : "-options"), agentOptions, BOUND,
                q.jvmFlags(), q.appArgs());
        List<String> problems = new ArrayList<>();
        if (!r.files("crashagent_pid", "").isEmpty()) problems.add("false report: " + r.files("crashagent_pid", ""));
        if (!r.files("hs_err_pid", "").isEmpty()) problems.add("hs_err written");
        if (r.exitCode() != plain.exitCode()) problems.add("exit " + r.exitCode() + " vs " + plain.exitCode());
        if (plain.exitCode() != 0) problems.add("the workload itself failed: " + plain);
        String expected = plain.stdout().replace("agent active: false", "agent active: true");
        if (!r.stdout().equals(expected)) problems.add("stdout differs:\n" + r.stdout() + "\nvs\n" + plain.stdout());
        if (!r.stderr().equals(plain.stderr())) problems.add("stderr differs:\n" + r.stderr() + "\nvs\n" + plain.stderr());
        if (!problems.isEmpty()) problems.add("in " + r.dir());
        return problems;
    }

    private static void expect(List<String> problems, String what, String expected, String actual) {
        if (!expected.equals(actual)) problems.add(what + " " + actual + ", expected " + expected);
    }

    static boolean hasFrame(JsonNode stack, String className, String method) {
        for (JsonNode frame : stack) {
            if (frame.path("class").asText().equals(className) && frame.path("method").asText().equals(method)) {
                return true;
            }
        }
        return false;
    }
}
