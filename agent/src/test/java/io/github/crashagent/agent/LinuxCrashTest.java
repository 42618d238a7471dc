// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.agent.ChildJvm.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Real child JVMs with -agentpath crashing in real JNI code (cpp/test/jni/crashtest.cpp). */
@EnabledOnOs(OS.LINUX)
class LinuxCrashTest {
    private static final String NATIVE_CLASS = "io.github.crashagent.testapp.CrashNative";
    private static final String APP_CLASS = "io.github.crashagent.testapp.CrashApp";

    static Stream<Path> jdks() throws IOException {
        return ChildJvm.jdks();
    }


    private static boolean hasFrame(JsonNode stack, String className, String method) {
        for (JsonNode frame : stack) {
            if (frame.path("class").asText().equals(className) && frame.path("method").asText().equals(method)) {
                return true;
            }
        }
        return false;
    }

    private static void assertCompleteHsErr(Result r) throws IOException {
        String hsErr = r.text("hs_err_pid", ".log");
        assertContains(hsErr, "A fatal error has been detected by the Java Runtime Environment", r);
        assertContains(hsErr, "libcrashtest.so", r);
        assertTrue(hsErr.stripTrailing().endsWith("END."), () -> "hs_err is truncated\n" + r);
    }

    /** Every module's build-id in the report is the one readelf -n finds in its file. */
    @ParameterizedTest
    @MethodSource("jdks")
    void everyModuleCarriesTheBuildIdOfItsFile(Path jdk) throws Exception {
        Result r = ChildJvm.run(jdk, "build-ids", "", "null-write");
        JsonNode modules = r.report().path("modules");
        int withId = 0;
        for (JsonNode module : modules) {
            String path = module.path("path").asText();
            if (!path.startsWith("/") || !Files.isRegularFile(Path.of(path))) continue;  // [vdso]
            Process readelf = new ProcessBuilder("readelf", "-n", path).redirectErrorStream(true).start();
            String notes = new String(readelf.getInputStream().readAllBytes());
            readelf.waitFor();
            java.util.regex.Matcher id = java.util.regex.Pattern.compile("Build ID: ([0-9a-f]+)").matcher(notes);
            String expected = id.find() ? id.group(1) : null;
            JsonNode reported = module.path("build_id");
            assertEquals(expected, reported.isNull() ? null : reported.asText(), path);
            if (expected != null) withId++;
        }
        // Each frame points at its module, where the identity is.
        for (JsonNode frame : r.report().path("native_frames")) {
            if (frame.path("module").isNull()) continue;
            assertEquals(frame.path("module").asText(),
                    modules.get(frame.path("module_index").asInt()).path("path").asText(), frame::toString);
        }
        // libcrashtest.so, libjvm.so, libc: the check must have compared real ids.
        assertTrue(withId >= 3, () -> "only " + modules.size() + " modules, few with a build-id:\n" + modules);
        assertContains(r.text("crashagent_pid", ".log"), "libcrashtest.so build-id ", r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void nullWriteInJniIsReportedThenHotSpotWritesHsErr(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "null-write-plain", null, "null-write");
        Result r = ChildJvm.run(jdk, "null-write", "", "null-write");

        assertEquals(plain.exitCode(), r.exitCode(), "exit status differs from the run without the agent\n" + r);
        assertEquals(134, r.exitCode(), r::toString);
        assertTrue(plain.files("crashagent_pid", "").isEmpty(), "no agent, no report");
        assertCompleteHsErr(r);

        JsonNode report = r.report();
        assertEquals(2, report.path("schema_version").asInt());
        // One version source: Maven's project.version reaches the native build.
        assertEquals(System.getProperty("crashagent.version"), report.path("agent_version").asText());
        assertEquals("SIGSEGV", report.at("/crash/kind").asText());
        assertEquals("0x0", report.at("/crash/fault_address").asText());
        assertEquals("null pointer dereference (write)", report.at("/crash/diagnosis").asText());
        assertContains(r.text("crashagent_pid", ".log"), "diagnosis:     null pointer dereference (write)", r);
        assertTrue(report.at("/crash/module").asText().endsWith("/libcrashtest.so"), report::toPrettyString);
        assertEquals(NATIVE_CLASS + ".nullWrite()V", report.path("native_method").asText());
        assertTrue(report.at("/thread/java").asBoolean(), report::toPrettyString);
        assertEquals("main", report.at("/thread/name").asText());
        assertEquals("in native", report.at("/thread/state").asText());
        JsonNode stack = report.path("java_stack");
        assertEquals(NATIVE_CLASS, stack.get(0).path("class").asText());
        assertEquals("nullWrite", stack.get(0).path("method").asText());
        assertTrue(hasFrame(stack, APP_CLASS, "crashInJni"), report::toPrettyString);
        assertTrue(hasFrame(stack, APP_CLASS, "main"), report::toPrettyString);
        assertTrue(report.path("native_frames").size() >= 2, report::toPrettyString);
        assertEquals("Java_io_github_crashagent_testapp_CrashNative_nullWrite",
                report.at("/native_frames/1/symbol").asText(), report::toPrettyString);
        assertFalse(report.path("signature").asText().isEmpty());
        assertContains(report.path("signature_text").asText(), "java:" + NATIVE_CLASS + ".nullWrite()V", report);
        assertEquals(r.onlyFile("hs_err_pid", ".log").toString(), report.at("/jvm/hs_err").asText());
        assertContains(report.at("/jvm/version").asText(), "17".equals(jdkFeature(jdk)) ? "17." : "", report);
        assertEquals("complete", report.at("/dispatch/status").asText());
        assertEquals("ok", report.at("/listeners/0/outcome").asText());
        assertTrue(report.path("modules").size() > 5);
        assertTrue(report.path("registers").has("rip"));

        String marker = Files.readString(r.dir().resolve("listener-marker.txt"));
        assertContains(marker, "kind=SIGSEGV", r);
        assertContains(marker, "nativeMethod=" + NATIVE_CLASS + ".nullWrite()V", r);
        assertContains(marker, "threadName=main", r);
        assertContains(marker, "javaThread=true", r);
        assertContains(marker, "reportExists=true", r);
        assertContains(marker, APP_CLASS + ".crashInJni(CrashApp.java:", r);
        assertContains(marker, "signature=" + report.path("signature").asText(), r);

        String log = r.text("crashagent_pid", ".log");
        assertContains(log, "kind:          SIGSEGV", r);
        assertContains(log, "at " + APP_CLASS + ".crashInJni(CrashApp.java:", r);
        assertContains(log, "end of crashagent report", r);
        assertContains(r.stderr(), "crashagent: SIGSEGV captured; report: ", r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void abortInJniIsReportedOnceWithExitStatus134(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "abort-plain", null, "abort");
        Result r = ChildJvm.run(jdk, "abort", "", "abort");

        assertEquals(134, plain.exitCode(), plain::toString);
        assertEquals(134, r.exitCode(), r::toString);
        JsonNode report = r.report();  // exactly one
        assertEquals("SIGABRT", report.at("/crash/kind").asText());
        assertTrue(report.at("/crash/module").asText().endsWith("/libcrashtest.so"), report::toPrettyString);
        assertTrue(report.at("/crash/pc_module").asText().contains("libc.so"), report::toPrettyString);
        assertEquals(NATIVE_CLASS + ".abortNow()V", report.path("native_method").asText());
        assertTrue(hasFrame(report.path("java_stack"), APP_CLASS, "main"), report::toPrettyString);
        assertEquals("native", report.path("origin").asText());
        // abort() sends the signal to its own process: a crash of it, but with no fault address
        // (si_addr holds the sender's pid and uid then).
        assertTrue(report.at("/crash/fault_address").isNull(), report::toPrettyString);
        assertEquals(r.pid(), report.at("/crash/sender_pid").asLong(), report::toPrettyString);
        assertEquals("abort() called by libcrashtest.so (SIGABRT)", report.at("/crash/diagnosis").asText());
        assertFalse(report.path("signature_text").asText().startsWith("external:"), report::toPrettyString);
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
        assertTrue(r.files("hs_err_pid", ".log").isEmpty(), "HotSpot writes no hs_err for abort()");
        assertTrue(report.at("/jvm/hs_err").isNull(), "the report claims an hs_err: " + report.at("/jvm/hs_err"));
        assertContains(r.text("crashagent_pid", ".log"), "hs_err:        (none expected)", r);
    }

    @ParameterizedTest
    @MethodSource("exitsAndHalts")
    void aListenerThatEndsTheProcessLeavesTheEarlierOutcomesAndTheCrashEndsAsWithoutTheAgent(Path jdk, String how)
            throws Exception {
        Result plain = ChildJvm.run(jdk, "listener-" + how + "-plain", null, "listener-exits", how);
        Result r = ChildJvm.run(jdk, "listener-" + how, "", "listener-exits", how);

        // The crash, not the listener's exit(42), ends the process: hs_err and status as without the agent.
        assertEquals(134, plain.exitCode(), plain::toString);
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertEquals(1, r.files("hs_err_pid", ".log").size(), r::toString);
        JsonNode report = r.report();
        assertEquals("interrupted", report.at("/dispatch/status").asText(), report::toPrettyString);
        JsonNode listeners = report.path("listeners");
        assertEquals(2, listeners.size(), report::toPrettyString);
        assertEquals("ok", listeners.get(0).path("outcome").asText(), report::toPrettyString);
        assertEquals("did not finish: the JVM began to exit while it ran (System.exit or Runtime.halt)",
                listeners.get(1).path("outcome").asText(), report::toPrettyString);
        assertContains(report.path("note").asText(), "the JVM began to exit while listener 2 (", r);
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
        assertFalse(Files.exists(r.dir().resolve("third-listener-ran.txt")), "a listener after the exit ran");
        assertContains(r.text("crashagent_pid", ".log"), "end of crashagent report", r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void eachListenerOutcomeIsOnDiskAsSoonAsTheListenerFinishes(Path jdk) throws Exception {
        Result r = ChildJvm.run(jdk, "listener-killed", "", "listener-killed");

        assertEquals(128 + 9, r.exitCode(), r::toString);
        JsonNode report = r.report();
        assertEquals("running", report.at("/dispatch/status").asText(), report::toPrettyString);
        JsonNode listeners = report.path("listeners");
        assertEquals(2, listeners.size(), report::toPrettyString);
        assertEquals("ok", listeners.get(0).path("outcome").asText(), report::toPrettyString);
        assertEquals("did not finish", listeners.get(1).path("outcome").asText(), report::toPrettyString);
    }

    static Stream<Arguments> exitsAndHalts() throws IOException {
        return ChildJvm.jdks().flatMap(jdk -> Stream.of(Arguments.of(jdk, "exit"), Arguments.of(jdk, "halt")));
    }

    /**
     * -Xcheck:jni finds a bad JNI call and the JVM aborts the process from inside libjvm: the
     * report blames the JNI library and its native method, not JVM frames that change with every
     * JDK build, and says that the JVM stopped it.
     */
    @ParameterizedTest
    @MethodSource("jdks")
    void aFailedXcheckJniCheckBlamesTheJniLibrary(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "xcheck-plain", null, Duration.ofSeconds(60), List.of("-Xcheck:jni"), "bad-jni-call");
        Result r = ChildJvm.run(jdk, "xcheck", "", Duration.ofSeconds(60), List.of("-Xcheck:jni"), "bad-jni-call");
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertContains(r.stdout() + r.stderr(), "FATAL ERROR in native method", r);
        JsonNode report = r.report();
        assertEquals("SIGABRT", report.at("/crash/kind").asText());
        assertTrue(report.at("/crash/module").asText().endsWith("/libcrashtest.so"), report::toPrettyString);
        String signature = report.path("signature_text").asText();
        assertTrue(signature.startsWith("libcrashtest.so+0x") && !signature.contains("libjvm.so"), signature);
        assertTrue(signature.endsWith("|java:" + NATIVE_CLASS + ".badJniCall()I"), signature);
        assertTrue(report.at("/crash/diagnosis").asText().startsWith(
                "the JVM aborted the process (a fatal error inside the VM, such as a -Xcheck:jni check) while "
                        + NATIVE_CLASS + ".badJniCall()I was running"), report::toPrettyString);
        assertEquals(plain.files("hs_err_pid", ".log").isEmpty(), report.at("/jvm/hs_err").isNull(),
                report::toPrettyString);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void aSignalAnotherProcessSendsIsReportedAsExternal(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "killed-plain", null, "killed");
        Result r = ChildJvm.run(jdk, "killed", "", "killed");

        // HotSpot's own handling stays: the same exit status, hs_err as without the agent.
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertEquals(plain.files("hs_err_pid", ".log").size(), r.files("hs_err_pid", ".log").size(), r::toString);
        JsonNode report = r.report();
        long sender = Long.parseLong(Files.readString(r.dir().resolve("sender.txt")).trim());
        long uid = (Integer) Files.getAttribute(r.dir().resolve("sender.txt"), "unix:uid");
        assertEquals("external", report.path("origin").asText(), report::toPrettyString);
        assertEquals("SIGSEGV", report.at("/crash/kind").asText());
        assertEquals("SI_USER", report.at("/crash/detail").asText(), report::toPrettyString);
        assertTrue(report.at("/crash/fault_address").isNull(), report::toPrettyString);
        assertEquals(sender, report.at("/crash/sender_pid").asLong(), report::toPrettyString);
        assertEquals(uid, report.at("/crash/sender_uid").asLong(), report::toPrettyString);
        // Never grouped with a real crash of whatever code the signal interrupted.
        assertEquals("external:SIGSEGV", report.path("signature_text").asText(), report::toPrettyString);
        assertEquals("signal SIGSEGV sent by process " + sender + " (uid " + uid + "): nothing in this process faulted",
                report.at("/crash/diagnosis").asText());
        assertContains(report.path("note").asText(), "signal sent by process " + sender, r);
        String log = r.text("crashagent_pid", ".log");
        assertContains(log, "fault address: none", r);
        assertContains(log, "sent by:       process " + sender + " (uid " + uid + ")", r);
        assertContains(log, "origin:        external", r);
        // The listeners run, and see where it came from.
        String marker = Files.readString(r.dir().resolve("listener-marker.txt"));
        assertContains(marker, "origin=external", r);
        assertContains(marker, "hasFaultAddress=false", r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void crashOnALibraryThreadIsReportedWithoutHanging(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "own-thread-plain", null, "own-thread");
        Result r = ChildJvm.run(jdk, "own-thread", "", "own-thread");

        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        JsonNode report = r.report();
        assertEquals("SIGSEGV", report.at("/crash/kind").asText());
        assertTrue(report.at("/crash/module").asText().endsWith("/libcrashtest.so"), report::toPrettyString);
        assertFalse(report.at("/thread/java").asBoolean(), report::toPrettyString);
        assertTrue(report.path("java_stack").isNull(), report::toPrettyString);
        assertEquals("complete", report.at("/dispatch/status").asText());
        String marker = Files.readString(r.dir().resolve("listener-marker.txt"));
        assertContains(marker, "javaThread=false", r);
        assertCompleteHsErr(r);
    }

    /** The JVM starts "Finalizer" before VMInit: it is a Java thread all the same. */
    @ParameterizedTest
    @MethodSource("jdks")
    void crashOnAJavaThreadTheJvmStartedBeforeTheAgentsEventsHasItsJavaStack(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "finalizer-plain", null, "fault", "finalizer-thread");
        Result r = ChildJvm.run(jdk, "finalizer", "", "fault", "finalizer-thread");

        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertEquals(134, r.exitCode(), r::toString);
        JsonNode report = r.report();
        assertEquals("SIGSEGV", report.at("/crash/kind").asText());
        assertTrue(report.at("/thread/java").asBoolean(), report::toPrettyString);
        assertEquals("Finalizer", report.at("/thread/name").asText(), report::toPrettyString);
        assertEquals("in native", report.at("/thread/state").asText(), report::toPrettyString);
        assertEquals(NATIVE_CLASS + ".nullWrite()V", report.path("native_method").asText());
        assertTrue(hasFrame(report.path("java_stack"), APP_CLASS, "finalizeInJni"), report::toPrettyString);
        String marker = Files.readString(r.dir().resolve("listener-marker.txt"));
        assertContains(marker, "threadName=Finalizer", r);
        assertContains(marker, "javaThread=true", r);
        assertCompleteHsErr(r);
    }

    /**
     * The agent attached to a running JVM (jcmd JVMTI.agent_load): the API class initialized
     * before it still gets its listeners run; a crash on a thread started after the attach is a
     * Java crash as usual, and one on an older thread says it cannot tell.
     */
    @ParameterizedTest
    @MethodSource("jdks")
    void anAgentAttachedToARunningJvmReportsCrashes(Path jdk) throws Exception {
        List<String> selfAttach = List.of("-Djdk.attach.allowAttachSelf=true");
        String agent = ChildJvm.agentLibrary().toAbsolutePath().toString();
        Result plain = ChildJvm.run(jdk, "late-attach-plain", null, Duration.ofSeconds(60), selfAttach,
                "late-attach", "none", "main");
        assertFalse(plain.stdout().contains("listener"), plain::toString);
        assertTrue(plain.files("crashagent_pid", "").isEmpty(), plain::toString);

        Result older = ChildJvm.run(jdk, "late-attach-main", null, Duration.ofSeconds(60), selfAttach,
                "late-attach", agent, "main");
        assertEquals(plain.exitCode(), older.exitCode(), older::toString);
        assertContains(older.stdout(), "agent active: false", older);
        assertContains(older.stdout(), "listener: agent active: true", older);
        assertFalse(older.stderr().contains("capability"), older::toString);
        JsonNode report = older.report();
        ChildJvm.assertMatchesSchema(report, older);
        assertEquals("SIGSEGV", report.at("/crash/kind").asText());
        assertEquals(NATIVE_CLASS + ".nullWrite()V", report.path("native_method").asText(), report::toPrettyString);
        assertTrue(report.at("/thread/java").isNull(), report::toPrettyString);
        assertTrue(report.path("java_stack").isNull(), report::toPrettyString);
        assertContains(report.path("java_stack_note").asText(), "older than the agent", report);
        assertEquals("complete", report.at("/dispatch/status").asText());
        assertEquals(2, report.path("listeners").size(), report::toPrettyString);
        assertEquals("ok", report.at("/listeners/0/outcome").asText(), report::toPrettyString);
        assertEquals("ok", report.at("/listeners/1/outcome").asText(), report::toPrettyString);
        assertContains(Files.readString(older.dir().resolve("listener-marker.txt")), "kind=SIGSEGV", older);
        // Code generated before the attach is known all the same (JVMTI GenerateEvents).
        assertEquals("Interpreter", callerOf(report, "Java_io_github_crashagent_testapp_CrashNative_nullWrite")
                .path("jvm_code").asText(), report::toPrettyString);
        assertCompleteHsErr(older);

        Result newer = ChildJvm.run(jdk, "late-attach-new-thread", null, Duration.ofSeconds(60), selfAttach,
                "late-attach", agent, "new-thread");
        assertEquals(plain.exitCode(), newer.exitCode(), newer::toString);
        report = newer.report();
        assertTrue(report.at("/thread/java").asBoolean(), report::toPrettyString);
        assertEquals("started after attach", report.at("/thread/name").asText());
        assertTrue(hasFrame(report.path("java_stack"), APP_CLASS, "crashInJni"), report::toPrettyString);
        assertContains(Files.readString(newer.dir().resolve("listener-marker.txt")), "threadName=started after attach", newer);
        assertCompleteHsErr(newer);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void aListenerThatThrowsDoesNotStopTheOthersOrTheChain(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "listener-throws-plain", null, "listener-throws");
        Result r = ChildJvm.run(jdk, "listener-throws", "", "listener-throws");

        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        JsonNode report = r.report();
        assertTrue(report.at("/listeners/0/outcome").asText()
                .startsWith("threw java.lang.IllegalStateException: listener failed on purpose"), report::toPrettyString);
        assertEquals("ok", report.at("/listeners/1/outcome").asText());
        assertEquals("complete", report.at("/dispatch/status").asText());
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
        assertCompleteHsErr(r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void aListenerThatHangsIsCutOffByTheTimeout(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "listener-hangs-plain", null, "listener-hangs");
        Path reports = Files.createDirectories(ChildJvm.WORK.resolve("reports-" + System.nanoTime()));
        Result r = ChildJvm.run(jdk, "listener-hangs", "dir=" + reports + ",timeout=1000", "listener-hangs");

        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        JsonNode report = ChildJvm.readReport(onlyReport(reports));
        assertEquals("timed_out", report.at("/dispatch/status").asText(), report::toPrettyString);
        assertEquals(1000, report.at("/dispatch/timeout_ms").asInt());
        assertEquals("ok", report.at("/listeners/0/outcome").asText());
        assertEquals("did not finish", report.at("/listeners/1/outcome").asText());
        assertTrue(hasFrame(report.path("java_stack"), APP_CLASS, "crashInJni"), report::toPrettyString);
        assertCompleteHsErr(r);
        // The budget bounds the delay: the crash costs at most the timeout plus a margin more than without the agent.
        long extra = r.elapsed().minus(plain.elapsed()).toMillis();
        assertTrue(extra < 1000 + 10_000, "the agent delayed the exit by " + extra + " ms\n" + r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void implicitNullChecksUnderC1AreNotReported(Path jdk) throws Exception {
        List<String> c1 = List.of("-XX:TieredStopAtLevel=1");
        Result plain = ChildJvm.run(jdk, "npe-plain", null, Duration.ofSeconds(120), c1, "npe-storm", "200000");
        Result r = ChildJvm.run(jdk, "npe", "", Duration.ofSeconds(120), c1, "npe-storm", "200000");

        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(plain.stdout().replace("agent active: false", "agent active: true"), r.stdout());
        assertContains(r.stdout(), "npe storm caught 200000", r);
        assertTrue(r.files("crashagent_pid", "").isEmpty(), r::toString);
        assertTrue(r.files("hs_err_pid", "").isEmpty(), r::toString);
        assertEquals("", r.stderr());
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void javaStackOverflowIsNotReported(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "soe-plain", null, "stack-overflow");
        Result r = ChildJvm.run(jdk, "soe", "", "stack-overflow");

        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(plain.stdout().replace("agent active: false", "agent active: true"), r.stdout());
        assertContains(r.stdout(), "stack overflow caught at depth>0: true", r);
        assertTrue(r.files("crashagent_pid", "").isEmpty(), r::toString);
        assertEquals("", r.stderr());
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void badOptionsStopTheJvmWithAClearMessage(Path jdk) throws Exception {
        Result unknown = ChildJvm.run(jdk, "bad-option", "colour=red", "stack-overflow");
        assertNotEquals(0, unknown.exitCode());
        assertContains(unknown.stderr(), "crashagent: unknown option 'colour'; allowed options: dir=", unknown);

        Result timeout = ChildJvm.run(jdk, "bad-timeout", "timeout=soon", "stack-overflow");
        assertNotEquals(0, timeout.exitCode());
        assertContains(timeout.stderr(), "option 'timeout' has value 'soon'", timeout);

        Result dir = ChildJvm.run(jdk, "bad-dir", "dir=/nonexistent/crashagent", "stack-overflow");
        assertNotEquals(0, dir.exitCode());
        assertContains(dir.stderr(), "option 'dir': report directory '/nonexistent/crashagent' is not usable", dir);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void eightThreadsCrashingAtOnceGiveOneReportListingTheOthers(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "concurrent-plain", null, "concurrent", "8");
        Result r = ChildJvm.run(jdk, "concurrent", "", "concurrent", "8");

        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        JsonNode report = r.report();  // exactly one
        assertTrue(report.at("/thread/name").asText().startsWith("crasher-"), report::toPrettyString);
        JsonNode others = report.path("other_crashes");
        assertTrue(others.size() >= 1 && others.size() <= 7, report::toPrettyString);
        long owner = report.at("/thread/id").asLong();
        for (JsonNode other : others) {
            assertNotEquals(owner, other.path("thread_id").asLong(), report::toPrettyString);
            assertEquals(11, other.path("code").asInt(), report::toPrettyString);
        }
        assertEquals(1, r.stderr().split("SIGSEGV captured", -1).length - 1, r::toString);
        assertCompleteHsErr(r);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void nativeStackOverflowIsReportedAndEndsAsWithoutTheAgent(Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, "native-soe-plain", null, "native-stack-overflow");
        Result r = ChildJvm.run(jdk, "native-soe", "", "native-stack-overflow");

        // Without the agent the kernel cannot deliver the signal on the exhausted stack.
        assertEquals(128 + 11, plain.exitCode(), plain::toString);
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertEquals(plain.files("hs_err_pid", "").size(), r.files("hs_err_pid", "").size());
        JsonNode report = r.report();
        assertEquals("SIGSEGV", report.at("/crash/kind").asText());
        assertTrue(report.at("/crash/module").asText().endsWith("/libcrashtest.so"), report::toPrettyString);
        assertEquals(NATIVE_CLASS + ".recurseForever()I", report.path("native_method").asText());
        assertContains(report.path("note").asText(), "native stack overflow", report);
        assertEquals("complete", report.at("/dispatch/status").asText());
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
    }

    /** With libjsig preloaded the JVM keeps its handlers and calls the agent as a chained handler. */
    @ParameterizedTest
    @MethodSource("jdks")
    void withLibjsigCrashesAreStillReportedAndJvmFaultsAreNot(Path jdk) throws Exception {
        Map<String, String> jsig = Map.of("LD_PRELOAD", jdk.resolve("lib/libjsig.so").toString());
        Result plain = ChildJvm.run(jdk, "jsig-plain", null, Duration.ofSeconds(60), List.of(), jsig, "null-write");
        Result r = ChildJvm.run(jdk, "jsig", "", Duration.ofSeconds(60), List.of(), jsig, "null-write");
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertContains(r.stderr(), "libjsig is loaded", r);
        assertEquals("SIGSEGV", r.report().at("/crash/kind").asText());
        assertTrue(Files.exists(r.dir().resolve("listener-marker.txt")), r::toString);
        assertCompleteHsErr(r);

        Result storm = ChildJvm.run(jdk, "jsig-npe", "", Duration.ofSeconds(120), List.of("-XX:TieredStopAtLevel=1"),
                jsig, "npe-storm", "100000");
        assertEquals(0, storm.exitCode(), storm::toString);
        assertTrue(storm.files("crashagent_pid", "").isEmpty(), storm::toString);
    }

    /** The fallback for JVMs without JVM_handle_linux_signal: judge by where the pc is. */
    @ParameterizedTest
    @MethodSource("jdks")
    void withoutTheJvmEntryPointThePcDecides(Path jdk) throws Exception {
        Map<String, String> fallback = Map.of("CRASHAGENT_TEST_NO_JVM_HANDLER", "1");
        Result storm = ChildJvm.run(jdk, "fallback-npe", "", Duration.ofSeconds(120), List.of("-XX:TieredStopAtLevel=1"),
                fallback, "npe-storm", "100000");
        assertEquals(0, storm.exitCode(), storm::toString);
        assertContains(storm.stdout(), "npe storm caught 100000", storm);
        assertTrue(storm.files("crashagent_pid", "").isEmpty(), storm::toString);

        Result plain = ChildJvm.run(jdk, "fallback-crash-plain", null, "null-write");
        Result r = ChildJvm.run(jdk, "fallback-crash", "", Duration.ofSeconds(60), List.of(), fallback, "null-write");
        assertEquals(plain.exitCode(), r.exitCode(), r::toString);
        assertEquals("SIGSEGV", r.report().at("/crash/kind").asText());
        assertCompleteHsErr(r);
    }

    /** The report names the hs_err file HotSpot really writes, -XX:ErrorFile included. */
    @ParameterizedTest
    @MethodSource("jdks")
    void theReportNamesTheHsErrFileOfXxErrorFile(Path jdk) throws Exception {
        Path errors = Files.createDirectories(ChildJvm.WORK.resolve("errors-" + System.nanoTime())).toAbsolutePath();
        // The application's own arguments may look like JVM flags; they are not.
        Result r = ChildJvm.run(jdk, "error-file", "", Duration.ofSeconds(60),
                List.of("-XX:ErrorFile=" + errors + "/crash_%p.log"), "null-write", "-XX:ErrorFile=/not/this/one");
        JsonNode report = r.report();
        Path expected = errors.resolve("crash_" + report.path("pid").asLong() + ".log");
        assertEquals(expected.toString(), report.at("/jvm/hs_err").asText(), report::toPrettyString);
        assertTrue(Files.exists(expected), () -> "HotSpot did not write " + expected + "\n" + r);
    }

    /**
     * HotSpot falls back from an -XX:ErrorFile it cannot create to the working directory: the
     * report names the file it really writes, as it is at the crash.
     */
    @ParameterizedTest
    @MethodSource("jdks")
    void theReportNamesTheHsErrFileHotSpotFallsBackTo(Path jdk) throws Exception {
        Path errors = ChildJvm.WORK.resolve("missing-" + System.nanoTime()).toAbsolutePath();  // never created
        Result r = ChildJvm.run(jdk, "error-file-fallback", "", Duration.ofSeconds(60),
                List.of("-XX:ErrorFile=" + errors + "/crash_%p.log"), "null-write");
        JsonNode report = r.report();
        Path written = r.onlyFile("hs_err_pid", ".log");
        assertEquals(written.toString(), report.at("/jvm/hs_err").asText(), report::toPrettyString);
        assertContains(r.text("crashagent_pid", ".log"), "hs_err:        " + written, r);
    }

    private static final List<String> JIT_FLAGS = List.of("-Xbatch");  // compile in the calling thread

    /**
     * A JNI call from the interpreter and the same call through HotSpot's native wrapper, once the
     * native method is compiled: the frame that called the JNI function is named for what it is,
     * in the JSON report, the log and the listener's frames, and the signature is the same.
     */
    @ParameterizedTest
    @MethodSource("jdks")
    void framesInTheJvmsCodeSayWhatTheyAreAndStayOutOfTheSignature(Path jdk) throws Exception {
        String method = NATIVE_CLASS + ".nullWriteWhen(Z)V";
        Result cold = ChildJvm.run(jdk, "jit-cold", "", Duration.ofSeconds(60), JIT_FLAGS, "jit-frames", "cold");
        Result warm = ChildJvm.run(jdk, "jit-warm", "", Duration.ofSeconds(60), JIT_FLAGS, "jit-frames", "warm");
        JsonNode coldReport = assertJniCallerNamed(cold, "Interpreter");
        JsonNode warmReport = assertJniCallerNamed(warm, "native wrapper for " + method);

        for (JsonNode report : List.of(coldReport, warmReport)) {
            assertEquals(method, report.path("native_method").asText(), report::toPrettyString);
            String text = report.path("signature_text").asText();
            String[] parts = text.split("\\|");
            assertEquals("java:" + method, parts[parts.length - 1], text);
            for (int i = 0; i < parts.length - 1; i++) {
                assertTrue(parts[i].startsWith("libcrashtest.so+0x"), text);
            }
        }
        assertEquals(coldReport.path("signature_text").asText(), warmReport.path("signature_text").asText());
        assertEquals(coldReport.path("signature").asText(), warmReport.path("signature").asText());
    }

    /** The frame that called the JNI function: outside any module, named jvmCode everywhere. */
    private static JsonNode assertJniCallerNamed(Result r, String jvmCode) throws IOException {
        assertEquals(134, r.exitCode(), r::toString);
        JsonNode report = r.report();
        JsonNode caller = callerOf(report, "Java_io_github_crashagent_testapp_CrashNative_nullWriteWhen");
        assertTrue(caller.path("module").isNull(), report::toPrettyString);
        assertEquals(jvmCode, caller.path("jvm_code").asText(), report::toPrettyString);
        int named = 0;
        for (JsonNode frame : report.path("native_frames")) {
            if (!frame.path("jvm_code").isNull()) {
                named++;
                assertTrue(frame.path("module").isNull(), report::toPrettyString);
            }
        }
        assertEquals(1, named, report::toPrettyString);
        assertEquals(0, report.at("/jvm/code_blobs_dropped").asLong(), report::toPrettyString);
        String frameText = "[JVM code: " + jvmCode + "]";
        assertContains(r.text("crashagent_pid", ".log"), " " + frameText + "\n", r);
        assertContains(Files.readString(r.dir().resolve("listener-marker.txt")), frameText, r);
        assertCompleteHsErr(r);
        return report;
    }

    /** The native frame right after the one whose symbol is jniFunction. */
    private static JsonNode callerOf(JsonNode report, String jniFunction) {
        JsonNode frames = report.path("native_frames");
        for (int i = 0; i + 1 < frames.size(); i++) {
            if (frames.get(i).path("symbol").asText().equals(jniFunction)) {
                return frames.get(i + 1);
            }
        }
        throw new AssertionError("no frame of " + jniFunction + " with a caller:\n" + report.toPrettyString());
    }

    /**
     * A fault in JIT-compiled Java code (a read through a direct buffer a JNI library made over
     * unmapped memory): the crash frame names the compiled method, the same one hs_err names, and
     * the signature does not depend on it.
     */
    @ParameterizedTest
    @MethodSource("jdks")
    void aCrashInCompiledJavaCodeNamesTheCompiledMethod(Path jdk) throws Exception {
        Result r = ChildJvm.run(jdk, "jit-compiled", "", Duration.ofSeconds(60), JIT_FLAGS, "jit-frames", "compiled");
        assertEquals(134, r.exitCode(), r::toString);
        JsonNode report = r.report();
        JsonNode top = report.at("/native_frames/0");
        assertTrue(top.path("module").isNull(), report::toPrettyString);
        String jvmCode = top.path("jvm_code").asText();
        assertTrue(jvmCode.startsWith("compiled "), report::toPrettyString);
        assertEquals(1, report.path("native_frames").size(), report::toPrettyString);
        assertTrue(report.at("/crash/module").isNull(), report::toPrettyString);
        assertEquals("native", report.path("origin").asText());
        assertEquals("SIGSEGV", report.path("signature_text").asText(), report::toPrettyString);

        // HotSpot's own view of the same frame: "J <id> <compiler> <method> ...".
        String hsErr = r.text("hs_err_pid", ".log");
        String method = jvmCode.substring("compiled ".length());
        String[] lines = hsErr.split("\n");
        String topLine = null;
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].startsWith("Native frames:")) {
                topLine = lines[i + 1];
                break;
            }
        }
        assertTrue(topLine != null && topLine.startsWith("J ") && topLine.contains(" " + method + " "),
                () -> "hs_err's top frame " + hsErrTop(hsErr) + ", the report's " + jvmCode);
        String log = r.text("crashagent_pid", ".log");
        assertContains(log, "\njvm code:      " + jvmCode + "\n", r);
        assertContains(log, " [JVM code: " + jvmCode + "]\n", r);
        assertEquals("complete", report.at("/dispatch/status").asText(), report::toPrettyString);
    }

    private static String hsErrTop(String hsErr) {
        int at = hsErr.indexOf("Native frames:");
        return at < 0 ? "(none)" : hsErr.substring(at, Math.min(hsErr.length(), at + 400));
    }

    private static Path onlyReport(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            List<Path> reports = list.filter(p -> p.getFileName().toString().endsWith(".json")).toList();
            assertEquals(1, reports.size(), () -> "reports in " + dir + ": " + reports);
            return reports.get(0);
        }
    }

    private static String jdkFeature(Path jdk) {
        return jdk.equals(Path.of(System.getProperty("java.home")))
                ? Integer.toString(Runtime.version().feature()) : "other";
    }
}
