// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import static io.github.crashagent.testing.ReportChecks.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which reports count as pending, and what acknowledging does to the directory. */
class PendingReportsTest {
    @TempDir
    Path dir;

    /** Log records of the API's logger, through System.Logger's default backend, java.util.logging. */
    final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    final Logger logger = Logger.getLogger("io.github.crashagent");
    final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void captureLog() {
        logger.addHandler(handler);
    }

    @AfterEach
    void stopCapturingLog() {
        logger.removeHandler(handler);
    }

    List<String> warnings() {
        return logged.stream().filter(r -> r.getLevel() == Level.WARNING).map(LogRecord::getMessage).toList();
    }

    Path report(String name, long pid, Instant crashTime) throws IOException {
        return report(dir, name, pid, crashTime, null);
    }

    /** A report as the agent writes it: rw------- (so the test does not depend on the umask). */
    static Path report(Path directory, String name, long pid, Instant crashTime, Path meantFor) throws IOException {
        ObjectNode json = CrashReportTest.fixture("null-write.json");
        json.put("pid", pid);
        json.put("timestamp_ms", crashTime.toEpochMilli());
        if (meantFor != null) {
            ((ObjectNode) json.get("report")).put("directory", meantFor.toString());
        }
        Path file = directory.resolve(name);
        Files.writeString(file, CrashReportTest.JSON.writeValueAsString(json));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
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
    void aReportOfAnotherUserIsNotPending() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path mine = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        Path theirs = report("crashagent_pid" + pid + "_1.json", pid, Instant.now());
        CrashReportTest.giveToAnotherUser(theirs);

        assertEquals(List.of(mine), files(CrashAgent.pendingReports(dir)));
        String warning = single(warnings());
        assertContains(warning, "skipped 1 file named like reports (1 owned by another user)");
        assertContains(warning, "crash report " + theirs + ": is owned by uid " + CrashReportTest.OTHER_UID + ", not by you");
    }

    @Test
    void aReportGroupOrOthersCanWriteIsNotPending() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path mine = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        Path groupWritable = report("crashagent_pid" + pid + "_1.json", pid, Instant.now());
        Files.setPosixFilePermissions(groupWritable, PosixFilePermissions.fromString("rw-rw-r--"));
        Path worldWritable = report("crashagent_pid" + pid + "_2.json", pid, Instant.now());
        Files.setPosixFilePermissions(worldWritable, PosixFilePermissions.fromString("rw----rw-"));
        Path readable = report("crashagent_pid" + pid + "_3.json", pid, Instant.now());
        Files.setPosixFilePermissions(readable, PosixFilePermissions.fromString("rw-r--r--"));

        assertEquals(List.of(mine, readable), files(CrashAgent.pendingReports(dir)));
        String warning = single(warnings());
        assertContains(warning, "(2 group- or world-writable)");
        assertContains(warning, "is group- or world-writable (mode 0", "the mode of the first one");
    }

    @Test
    void inTheTempDirectoryOnlyYourOwnReportsCountAndOthersAreNotWarnedAbout() throws Exception {
        Path temp = Files.createDirectory(dir.resolve("temp"));
        Path reports = Files.createDirectory(dir.resolve("reports"));
        long pid = pidOfAnExitedProcess();
        Path mine = report(temp, "crashagent_pid" + pid + ".json", pid, Instant.now(), reports);
        // Anyone can write to /tmp, and the report directory inside makes a report look meant for you.
        Path planted = report(temp, "crashagent_pid" + pid + "_1.json", pid, Instant.now(), reports);
        CrashReportTest.giveToAnotherUser(planted);
        Path plantedLink = Files.createSymbolicLink(temp.resolve("crashagent_pid" + pid + "_2.json"), mine);
        CrashReportTest.giveToAnotherUser(plantedLink);

        assertEquals(List.of(mine), files(PendingReports.inReportDirectory(reports, Optional.of(temp))));
        assertEquals(List.of(), warnings(), "a shared temp directory has other users' reports; they are theirs");
    }

    @Test
    void aSymbolicLinkNamedLikeAReportIsNotFollowedButALinkedReportDirectoryIsFine() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path real = Files.createDirectory(dir.resolve("real"));
        Path report = report(real, "crashagent_pid" + pid + ".json", pid, Instant.now(), null);
        Path reports = Files.createDirectory(dir.resolve("reports"));
        Path link = Files.createSymbolicLink(reports.resolve("crashagent_pid" + pid + "_1.json"), report);

        assertEquals(List.of(), CrashAgent.pendingReports(reports));
        String warning = single(warnings());
        assertContains(warning, "(1 a symbolic link)");
        assertContains(warning, "crash report " + link + ": is a symbolic link");

        Path linkedDirectory = Files.createSymbolicLink(dir.resolve("linked"), real);
        assertEquals(List.of(linkedDirectory.resolve(report.getFileName())),
                files(CrashAgent.pendingReports(linkedDirectory)));
    }

    @Test
    void junkNamedLikeReportsGetsOneWarningPerCallThatCountsItByReason() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path good = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        for (int i = 1; i <= 5; i++) {
            junk("crashagent_pid" + pid + "_" + i + ".json", "ghp_S3CR3TT0K3N " + i);
        }
        junk("crashagent_pid" + pid + "_6.json", "");
        Files.createDirectory(dir.resolve("crashagent_pid" + pid + "_7.json"));
        Path sparse = junk("crashagent_pid" + pid + "_8.json", "");
        try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(CrashReport.MAX_FILE_SIZE + 1);
        }

        for (int call = 1; call <= 2; call++) {
            logged.clear();
            assertEquals(List.of(good), files(CrashAgent.pendingReports(dir)));
            String warning = single(warnings());
            assertContains(warning, "skipped 8 files named like reports (");
            assertContains(warning, "5 not a valid report");
            assertContains(warning, "1 empty");
            assertContains(warning, "1 not a regular file");
            assertContains(warning, "1 larger than 8 MiB");
            assertContains(warning, ": is " + (CrashReport.MAX_FILE_SIZE + 1) + " bytes, more than the");
            assertContains(warning, ": is not valid JSON (line 1, column 1)");
            assertFalse(warning.contains("S3CR3T"), warning);
        }
    }

    Path junk(String name, String content) throws IOException {
        Path file = Files.writeString(dir.resolve(name), content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    @Test
    void filesRefusedByTheirAttributesAreNeverOpened() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path good = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        CrashReportTest.mkfifo(dir.resolve("crashagent_pid" + pid + "_1.json"));
        Files.createSymbolicLink(dir.resolve("crashagent_pid" + pid + "_2.json"), good);
        Path sparse = junk("crashagent_pid" + pid + "_3.json", "");
        try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(CrashReport.MAX_FILE_SIZE + 1);
        }
        Path writable = report("crashagent_pid" + pid + "_4.json", pid, Instant.now());
        Files.setPosixFilePermissions(writable, PosixFilePermissions.fromString("rw-rw-rw-"));
        junk("crashagent_pid" + pid + "_5.json", "");
        Path theirs = report("crashagent_pid" + pid + "_6.json", pid, Instant.now());
        // Only root can make another user's file; the rest of the test stands without it.
        int skipped = CrashReportTest.triedToGiveToAnotherUser(theirs) ? 6 : 5;
        if (skipped == 5) {
            Files.delete(theirs);
        }

        List<Path> opened = new CopyOnWriteArrayList<>();
        ReportFileReader counting = new ReportFileReader(ReportFileReader.TIMEOUT, opened::add);
        assertEquals(List.of(good), files(PendingReports.in(dir, PendingRules.current(), counting)));
        assertEquals(List.of(good), opened);
        assertContains(single(warnings()), "skipped " + skipped + " files named like reports");
    }

    @Test
    void atMostAThousandFilesAreReadPerCallOldestFirst() throws Exception {
        assertEquals(1000, PendingReports.MAX_FILES_READ);
        long pid = pidOfAnExitedProcess();
        Instant base = Instant.now().minus(Duration.ofDays(1));
        Path oldest = report("crashagent_pid" + pid + ".json", pid, base);
        Files.setLastModifiedTime(oldest, FileTime.from(base));
        for (int i = 1; i <= 1004; i++) {
            Path junk = junk("crashagent_pid" + pid + "_" + i + ".json", "junk");
            Files.setLastModifiedTime(junk, FileTime.from(base.plusSeconds(i)));
        }
        Path newest = report("crashagent_pid" + pid + "_9999.json", pid, base.plusSeconds(2000));
        Files.setLastModifiedTime(newest, FileTime.from(base.plusSeconds(2000)));

        List<Path> opened = new CopyOnWriteArrayList<>();
        ReportFileReader counting = new ReportFileReader(ReportFileReader.TIMEOUT, opened::add);
        assertEquals(List.of(oldest), files(PendingReports.in(dir, PendingRules.current(), counting)));
        assertEquals(1000, opened.size());
        assertFalse(opened.contains(newest), "the newest waits for a later call");
        String warning = single(warnings());
        assertContains(warning, "skipped 999 files named like reports (999 not a valid report)");
        assertContains(warning, "Did not read 6 more files, the newest: at most 1000 are read per call, oldest first");
    }

    @Test
    void aMarkerOfAnotherUserDoesNotHideAReport() throws Exception {
        long pid = pidOfAnExitedProcess();
        Path file = report("crashagent_pid" + pid + ".json", pid, Instant.now());
        Path marker = Files.writeString(dir.resolve(file.getFileName() + CrashAgent.ACKNOWLEDGED_SUFFIX), "");
        CrashReportTest.giveToAnotherUser(marker);

        List<CrashReport> pending = CrashAgent.pendingReports(dir);
        assertEquals(List.of(file), files(pending));
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> CrashAgent.acknowledge(pending.get(0)));
        assertContains(e.getMessage(), marker + ": exists but is not a regular file of yours");
    }

    static String single(List<String> warnings) {
        assertEquals(1, warnings.size(), () -> "expected one warning, got " + warnings);
        return warnings.get(0);
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
