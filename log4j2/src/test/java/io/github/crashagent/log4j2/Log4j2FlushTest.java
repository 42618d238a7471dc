// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Lines logged through an AsyncAppender just before a JNI crash: lost without the integration,
 * on disk with it. The file behind the AsyncAppender stalls until Log4j2 shuts down
 * (LogThenCrash.StalledStorage), so the lines are still queued when the crash comes. Without the
 * integration nothing shuts Log4j2 down before the JVM dies (HotSpot runs no shutdown hooks after
 * a crash); with it, the listener stops Log4j2, which drains the queue.
 */
@EnabledOnOs(OS.LINUX)
class Log4j2FlushTest {
    static final int LINES = 20;
    static final String LAST = "last line before the crash";

    private static Result run(String mode) throws Exception {
        Path config = Path.of(Log4j2FlushTest.class.getResource("/log4j2-crash-test.xml").toURI());
        return ChildJvm.builder(Path.of(System.getProperty("java.home")), "log4j2-" + mode)
                .agent("")
                .mainClass("io.github.crashagent.log4j2.testapp.LogThenCrash")
                .jvmFlags("-Dlog4j2.configurationFile=" + config, "-Dapp.log=app.log")
                .args(mode, Integer.toString(LINES))
                .run();
    }


    @Test
    void withoutTheIntegrationTheLastLinesAreLost() throws Exception {
        Result r = run("without");
        assertEquals(134, r.exitCode(), r::toString);
        assertContains(r.stdout(), "agent active: true, integration: false", r);
        String log = Files.readString(r.dir().resolve("app.log"));
        assertFalse(log.contains(LAST), () -> "the last line reached disk anyway:\n" + log + "\n" + r);
        assertFalse(log.contains("work item " + LINES + " done"), log);
        assertFalse(log.contains("FATAL"), log);
        assertTrue(CrashReport.read(r.onlyFile("crashagent_pid", ".json")).listenerOutcomes().isEmpty());
    }

    @Test
    void withTheIntegrationEveryLineAndTheCrashAreOnDisk() throws Exception {
        Result r = run("with");
        assertEquals(134, r.exitCode(), r::toString);
        assertContains(r.stdout(), "agent active: true, integration: true", r);
        String log = Files.readString(r.dir().resolve("app.log"));
        for (int i = 1; i <= LINES; i++) {
            assertContains(log, "INFO  [main] app - work item " + i + " done\n", r);
        }
        assertContains(log, "WARN  [main] app - " + LAST + "\n", r);
        assertTrue(log.indexOf(LAST) < log.indexOf("FATAL"), log);

        CrashReport report = CrashReport.read(r.onlyFile("crashagent_pid", ".json"));
        String fatal = log.lines().filter(l -> l.contains("FATAL")).findFirst().orElseThrow();
        assertContains(fatal, "[crashagent dispatcher] io.github.crashagent - ", r);
        assertContains(fatal, "message=\"native crash: SIGSEGV in libcrashtest.so+0x", r);
        assertContains(fatal, "crash.kind=\"SIGSEGV\"", r);
        assertContains(fatal, "crash.code=\"11\"", r);
        assertContains(fatal, "crash.fault_address=\"0x0\"", r);
        assertContains(fatal, "crash.native_method=\"io.github.crashagent.testapp.CrashNative.nullWrite()V\"", r);
        assertContains(fatal, "crash.signature=\"" + report.event().signature() + "\"", r);
        assertContains(fatal, "crash.thread=\"main\"", r);
        assertContains(fatal, "crash.report=\"" + report.file().toRealPath() + "\"", r);
        // the crashed thread's Java stack follows, as a stack trace
        assertContains(log, "CrashedThreadStack: Java stack of thread \"main\" at the native crash in "
                + "io.github.crashagent.testapp.CrashNative.nullWrite()V", r);
        assertContains(log, "\tat io.github.crashagent.log4j2.testapp.LogThenCrash.main(LogThenCrash.java:", r);

        assertEquals(CrashReport.DispatchStatus.COMPLETE, report.dispatchStatus());
        assertEquals(1, report.listenerOutcomes().size());
        assertEquals(Log4j2CrashListener.class.getName(), report.listenerOutcomes().get(0).listener());
        assertEquals("ok", report.listenerOutcomes().get(0).outcome());
    }
}
