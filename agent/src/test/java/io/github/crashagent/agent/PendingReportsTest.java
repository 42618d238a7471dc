// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * A later JVM with the same report directory finds the crashed JVM's report and acknowledges it,
 * also when the report had to go to the temp directory.
 */
@EnabledOnOs(OS.LINUX)
class PendingReportsTest {

    @Test
    void aLaterJvmSeesTheReportOnceUntilItIsAcknowledged() throws Exception {
        Path jdk = Path.of(System.getProperty("java.home"));
        Path reports = Files.createDirectories(ChildJvm.work().resolve("pending-reports-" + System.nanoTime()));
        Result crashed = ChildJvm.builder(jdk, "pending-crash").agent("dir=" + reports).args("null-write").run();
        assertEquals(134, crashed.exitCode(), crashed::toString);
        List<Path> files = ChildJvm.files(reports, "crashagent_pid", ".json");
        assertEquals(1, files.size(), files::toString);
        Path file = files.get(0);
        CrashReport report = CrashReport.read(file);

        Result first = ChildJvm.builder(jdk, "pending-list").agent("dir=" + reports).args("pending").run();
        assertEquals(0, first.exitCode(), first::toString);
        assertContains(first.stdout(), "agent active: true", first);
        assertContains(first.stdout(), "report directory: " + reports.toRealPath(), first);
        assertContains(first.stdout(), "pending: " + file.getFileName() + " pid=" + crashed.pid()
                + " kind=SIGSEGV signature=" + report.event().signature() + "\n", first);
        assertContains(first.stdout(), "pending count: 1\n", first);
        assertContains(first.stdout(), "pending after acknowledge: 0\n", first);
        assertTrue(Files.isRegularFile(reports.resolve(file.getFileName() + ".acknowledged")));
        assertTrue(Files.isRegularFile(file), "the report is kept");
        assertEquals(1, ChildJvm.files(reports, "crashagent_pid", ".log").size(), "the agent log is kept");

        Result second = ChildJvm.builder(jdk, "pending-again").agent("dir=" + reports).args("pending").run();
        assertEquals(0, second.exitCode(), second::toString);
        assertContains(second.stdout(), "pending count: 0\n", second);
    }

    @Test
    void aDiskThatFillsWhileTheListenersRunMovesTheWholeReportToTheTempDirectory() throws Exception {
        Path jdk = Path.of(System.getProperty("java.home"));
        Path base = Files.createDirectories(ChildJvm.work().resolve("disk-fills-" + System.nanoTime())).toRealPath();
        Path reports = Files.createDirectories(base.resolve("reports"));
        Path temp = Files.createDirectories(base.resolve("temp"));
        Map<String, String> environment = Map.of("TMPDIR", temp.toString(),
                "LD_PRELOAD", ChildJvm.FULL_DISK_SHIM.toString(),
                "CRASHAGENT_FULL_DIRS", reports.toString(), "CRASHAGENT_FULL_FREE", "100000000",
                "CRASHAGENT_FULL_TRIGGER", base.resolve("full-now").toString());

        Result plain = ChildJvm.builder(jdk, "disk-fills-plain").environment(environment)
                .args("disk-fills-in-listener").run();
        Result crashed = ChildJvm.builder(jdk, "disk-fills").agent("dir=" + reports).environment(environment)
                .args("disk-fills-in-listener").run();
        assertEquals(plain.exitCode(), crashed.exitCode(), crashed::toString);
        assertEquals(1, crashed.files("hs_err_pid", ".log").size(), crashed::toString);
        assertTrue(Files.exists(base.resolve("full-now")), "the listener filled the disk");
        // One crash, one report: the one written before the listeners is gone from the full disk.
        assertEquals(List.of(), ChildJvm.files(reports, "crashagent_pid", ""), crashed::toString);
        Path file = single(ChildJvm.files(temp, "crashagent_pid", ".json"));
        ChildJvm.assertMatchesSchema(ChildJvm.readReport(file), crashed);
        CrashReport report = CrashReport.read(file);
        assertEquals(CrashReport.DispatchStatus.COMPLETE, report.dispatchStatus());
        assertEquals(2, report.listenerOutcomes().size(), report::toString);
        assertEquals("report directory " + reports + ": no space left on device after the listeners ran; "
                + "wrote to the temp directory " + temp + " instead", report.note());
        String log = Files.readString(single(ChildJvm.files(temp, "crashagent_pid", ".log")));
        assertContains(log, "end of crashagent report", crashed);
        assertContains(crashed.stderr(), "report moved to " + file, crashed);
        assertEquals(List.of(), ChildJvm.files(temp, "crashagent_pid", ".tmp"), "temporary files left behind");
    }

    @Test
    void aReportWrittenToTheTempDirectoryBecauseTheReportDirectoryWentAwayIsStillPending() throws Exception {
        Path jdk = Path.of(System.getProperty("java.home"));
        Path base = Files.createDirectories(ChildJvm.work().resolve("fallback-" + System.nanoTime())).toRealPath();
        Path reports = Files.createDirectories(base.resolve("reports"));
        Path temp = Files.createDirectories(base.resolve("temp"));
        Map<String, String> tmpdir = Map.of("TMPDIR", temp.toString());

        // The crashing JVM removes its report directory just before it crashes.
        Result crashed = ChildJvm.builder(jdk, "fallback-crash").agent("dir=" + reports).environment(tmpdir)
                .args("report-dir-gone").run();
        assertEquals(134, crashed.exitCode(), crashed::toString);
        assertFalse(Files.exists(reports), "the report directory was removed");
        Path file = single(ChildJvm.files(temp, "crashagent_pid", ".json"));
        assertEquals(1, ChildJvm.files(temp, "crashagent_pid", ".log").size(), "the agent log is there too");
        ChildJvm.assertMatchesSchema(ChildJvm.readReport(file), crashed);
        CrashReport report = CrashReport.read(file);
        assertEquals("SIGSEGV", report.event().kind());
        assertEquals(reports, report.reportDirectory());
        assertEquals("report directory " + reports + ": no such file or directory; wrote to the temp directory "
                + temp + " instead", report.note());
        assertEquals(CrashReport.DispatchStatus.COMPLETE, report.dispatchStatus());
        assertEquals(file.toString(), report.event().reportFile().toString());
        assertContains(crashed.stderr(), "crashagent: SIGSEGV captured; report: " + file, crashed);
        assertContains(Files.readString(crashed.dir().resolve("listener-marker.txt")), "reportExists=true", crashed);
        assertEquals(1, crashed.files("hs_err_pid", ".log").size(), crashed::toString);

        // A report in the same temp directory meant for another report directory is not ours.
        ObjectNode foreign = (ObjectNode) ChildJvm.readReport(file);
        ((ObjectNode) foreign.get("report")).put("directory", base.resolve("elsewhere").toString());
        Path foreignFile = temp.resolve(file.getFileName().toString().replace(".json", "_7.json"));
        ChildJvm.JSON.writeValue(foreignFile.toFile(), foreign);

        Files.createDirectories(reports);
        Result later = ChildJvm.builder(jdk, "fallback-pending").agent("dir=" + reports).environment(tmpdir)
                .args("pending").run();
        assertEquals(0, later.exitCode(), later::toString);
        assertContains(later.stdout(), "pending: " + file.getFileName() + " pid=" + crashed.pid()
                + " kind=SIGSEGV signature=" + report.event().signature() + "\n", later);
        assertContains(later.stdout(), "pending count: 1\n", later);
        assertContains(later.stdout(), "pending after acknowledge: 0\n", later);
        assertTrue(Files.isRegularFile(temp.resolve(file.getFileName() + ".acknowledged")));
        assertFalse(Files.exists(temp.resolve(foreignFile.getFileName() + ".acknowledged")));
    }

    private static Path single(List<Path> files) {
        assertEquals(1, files.size(), files::toString);
        return files.get(0);
    }
}
