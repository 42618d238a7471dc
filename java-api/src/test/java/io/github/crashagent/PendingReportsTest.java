// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which reports count as pending, and what acknowledging does to the directory. */
class PendingReportsTest {
    @TempDir
    Path dir;

    Path report(String name, long pid, Instant crashTime) throws IOException {
        ObjectNode json = CrashReportTest.fixture("null-write.json");
        json.put("pid", pid);
        json.put("timestamp_ms", crashTime.toEpochMilli());
        Path file = dir.resolve(name);
        Files.writeString(file, CrashReportTest.JSON.writeValueAsString(json));
        return file;
    }

    static long pidOfAnExitedProcess() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertEquals(0, p.waitFor());
        return p.pid();
    }

    static List<Path> files(List<CrashReport> reports) {
        return reports.stream().map(CrashReport::file).toList();
    }

    @Test
    void aReportOfAnExitedProcessIsPending() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path file = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        assertEquals(List.of(file), files(CrashAgent.pendingReports(dir)));
    }

    @Test
    void thisProcessCountsAsGoneOnlyForCrashesBeforeItStarted() throws Exception {
        long self = ProcessHandle.current().pid();
        Instant jvmStart = Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime());
        Path mine = report("crashagent_pid" + self + ".json", self, Instant.now());
        Path earlier = report("crashagent_pid" + self + "_1.json", self, jvmStart.minusMillis(1));
        // the first is this process crashing right now (a listener may call pendingReports)
        assertEquals(List.of(earlier), files(CrashAgent.pendingReports(dir)));
        assertTrue(Files.exists(mine));
    }

    @Test
    void aLiveProcessIsNotGoneUnlessItStartedAfterTheCrash() throws Exception {
        Process live = new ProcessBuilder("sleep", "600").start();
        try {
            Instant started = live.info().startInstant().orElseThrow();
            Path stillCrashing = report("crashagent_pid" + live.pid() + ".json", live.pid(), started.plusSeconds(5));
            Path reused = report("crashagent_pid" + live.pid() + "_1.json", live.pid(), started.minus(Duration.ofHours(1)));
            assertEquals(List.of(reused), files(CrashAgent.pendingReports(dir)));
            assertTrue(Files.exists(stillCrashing));
        } finally {
            live.destroyForcibly().waitFor();
        }
    }

    @Test
    void onWindowsAPidReusedMillisecondsAfterTheCrashIsPendingWhereLinuxCannotTell() throws Exception {
        Process live = new ProcessBuilder("sleep", "600").start();
        try {
            long pid = live.pid();
            Instant started = live.info().startInstant().orElseThrow();
            Path longAgo = report("crashagent_pid" + pid + ".json", pid, started.minus(Duration.ofHours(1)));
            Path reused = report("crashagent_pid" + pid + "_1.json", pid, started.minusMillis(5));
            // the crash timestamp and the start time are both cut to whole ms: the same process
            Path rounding = report("crashagent_pid" + pid + "_2.json", pid, started.minusMillis(1));
            Path stillCrashing = report("crashagent_pid" + pid + "_3.json", pid, started.plusMillis(5));

            assertEquals(List.of(longAgo, reused), files(CrashAgent.pendingReports(dir, PendingRules.WINDOWS)));
            // Linux knows start times to about a second, so it takes 5 ms for the same process
            assertEquals(List.of(longAgo), files(CrashAgent.pendingReports(dir, PendingRules.LINUX)));
            assertTrue(Files.exists(rounding) && Files.exists(stillCrashing));
        } finally {
            live.destroyForcibly().waitFor();
        }
    }

    @Test
    void onWindowsReportNamesIgnoreCaseAsNtfsDoes() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path lower = report("crashagent_pid" + pid + ".json", pid, Instant.now().minusSeconds(1));
        Path upper = report("CRASHAGENT_PID" + pid + "_1.JSON", pid, Instant.now());
        report("Crashagent_Pid" + pid + "_2.Json.tmp", pid, Instant.now());
        assertEquals(List.of(lower, upper), files(CrashAgent.pendingReports(dir, PendingRules.WINDOWS)));
        assertEquals(List.of(lower), files(CrashAgent.pendingReports(dir, PendingRules.LINUX)));
    }

    @Test
    void theRulesFollowTheOsName() {
        assertEquals(PendingRules.WINDOWS, PendingRules.forOsName("Windows Server 2022"));
        assertEquals(PendingRules.WINDOWS, PendingRules.forOsName("Windows 11"));
        assertEquals(PendingRules.LINUX, PendingRules.forOsName("Linux"));
        assertEquals(PendingRules.LINUX, PendingRules.forOsName("Mac OS X"), "the cautious slack elsewhere");
    }

    @Test
    void acknowledgingWritesAMarkerAndKeepsTheReport() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path older = report("crashagent_pid" + pid + ".json", pid, Instant.now().minusSeconds(60));
        Path newer = report("crashagent_pid" + pid + "_1.json", pid, Instant.now());
        List<CrashReport> pending = CrashAgent.pendingReports(dir);
        assertEquals(List.of(older, newer), files(pending), "oldest first");

        CrashAgent.acknowledge(pending.get(0));
        assertEquals(List.of(newer), files(CrashAgent.pendingReports(dir)));
        assertTrue(Files.exists(older), "the report is kept");
        Path marker = dir.resolve(older.getFileName() + ".acknowledged");
        assertTrue(Files.isRegularFile(marker));

        CrashAgent.acknowledge(pending.get(0));  // again: no error, no change
        CrashAgent.acknowledge(pending.get(1));
        assertEquals(List.of(), CrashAgent.pendingReports(dir));
        assertTrue(Files.exists(newer));
    }

    @Test
    void acknowledgingAReportThatWasRemovedFails() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path file = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        CrashReport report = CrashReport.read(file);
        Files.delete(file);
        assertThrows(NoSuchFileException.class, () -> CrashAgent.acknowledge(report));
        assertFalse(Files.exists(dir.resolve(file.getFileName() + ".acknowledged")));
    }

    @Test
    void unreadableAndUnrelatedFilesAreSkippedAndLeftAlone() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path good = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        Path broken = Files.writeString(dir.resolve("crashagent_pid" + (pid + 1) + ".json"), "{\"schema\": \"crash");
        Path tmp = Files.writeString(dir.resolve("crashagent_pid" + pid + "_2.json.tmp"), "{");
        report("notes.json", pid, Instant.now());
        report("crashagent_pid" + pid + ".log", pid, Instant.now());

        assertEquals(List.of(good), files(CrashAgent.pendingReports(dir)));
        assertTrue(Files.exists(broken));
        assertTrue(Files.exists(tmp));
    }

    @Test
    void withoutTheAgentThereIsNoReportDirectoryAndNothingPending() throws Exception {
        assertFalse(CrashAgent.isActive());
        assertTrue(CrashAgent.reportDirectory().isEmpty());
        assertEquals(List.of(), CrashAgent.pendingReports());
        CrashListener listener = event -> { };
        CrashAgent.addListener(listener);
        CrashAgent.removeListener(listener);
        assertThrows(NullPointerException.class, () -> CrashAgent.addListener(null));
    }
}
