package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** A later JVM with the same report directory finds the crashed JVM's report and acknowledges it. */
@EnabledOnOs(OS.LINUX)
class PendingReportsTest {
    private static void assertContains(String haystack, String needle, Object context) {
        assertTrue(haystack.contains(needle), () -> "expected '" + needle + "' in:\n" + haystack + "\n" + context);
    }

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
}
