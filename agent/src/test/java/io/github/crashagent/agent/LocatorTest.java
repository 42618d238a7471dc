package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.agent.ChildJvm.Result;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The agent jar's commands, run in-process (LocatorJarIT runs the packaged jar). */
@EnabledOnOs(OS.LINUX)
class LocatorTest {
    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {
        @Override
        public String toString() {
            return "status=" + status + "\n--- out\n" + out + "\n--- err\n" + err;
        }
    }

    static Run locator(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Locator.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void assertContains(String haystack, String needle, Object context) {
        assertTrue(haystack.contains(needle), () -> "expected '" + needle + "' in:\n" + haystack + "\n" + context);
    }

    @Test
    void pathExtractsTheLibraryAndPrintsTheFlag() throws Exception {
        Path dir = tmp.resolve("lib");
        Run run = locator("path", dir.toString());
        Path lib = dir.resolve("libcrashagent.so").toAbsolutePath();
        assertEquals(0, run.status(), run::toString);
        assertEquals("-agentpath:" + lib + System.lineSeparator(), run.out());
        assertArrayEquals(Files.readAllBytes(ChildJvm.agentLibrary()), Files.readAllBytes(lib));

        // Extracting again leaves an identical library alone: a running JVM may have it loaded.
        FileTime old = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
        Files.setLastModifiedTime(lib, old);
        assertEquals(run, locator("path", dir.toString()));
        assertEquals(old, Files.getLastModifiedTime(lib));

        // A different one (an older version) is replaced.
        Files.writeString(lib, "old");
        assertEquals(0, locator("path", dir.toString()).status());
        assertArrayEquals(Files.readAllBytes(ChildJvm.agentLibrary()), Files.readAllBytes(lib));
        try (var list = Files.list(dir)) {
            assertEquals(1, list.count(), "no temporary files are left");
        }
    }

    @Test
    void showPrintsAReadableSummaryOfARealReport() throws Exception {
        Result crashed = ChildJvm.builder(Path.of(System.getProperty("java.home")), "locator-show")
                .agent("").args("null-write").run();
        Path report = crashed.onlyFile("crashagent_pid", ".json");
        Run run = locator("show", report.toString());
        assertEquals(0, run.status(), run::toString);
        String out = run.out();
        assertContains(out, "crash report " + report, run);
        assertContains(out, "SIGSEGV (SEGV_MAPERR) at address 0x0, pc 0x", run);
        assertContains(out, "libcrashtest.so +0x", run);
        assertContains(out, "native method: io.github.crashagent.testapp.CrashNative.nullWrite()V", run);
        assertContains(out, "thread: \"main\"", run);
        assertContains(out, ", Java thread, in native", run);
        assertContains(out, "pid " + crashed.pid(), run);
        assertContains(out, "hs_err: " + crashed.onlyFile("hs_err_pid", ".log"), run);
        assertContains(out, "  at io.github.crashagent.testapp.CrashNative.nullWrite(Native Method)", run);
        assertContains(out, "  at io.github.crashagent.testapp.CrashApp.crashInJni(CrashApp.java:", run);
        assertContains(out, "  #1 libcrashtest.so+0x", run);
        assertContains(out, "Listeners (dispatch complete, budget 5000 ms):", run);
        assertContains(out, ": ok", run);
    }

    @Test
    void badInputGetsAClearMessageAndStatus() throws Exception {
        Run none = locator();
        assertEquals(2, none.status());
        assertContains(none.err(), "usage: java -jar crashagent-agent.jar path [directory]", none);

        Run unknown = locator("where");
        assertEquals(2, unknown.status());
        assertContains(unknown.err(), "unknown command 'where'", unknown);

        Run missing = locator("show", tmp.resolve("nothing.json").toString());
        assertEquals(1, missing.status());
        assertContains(missing.err(), "crashagent: no such file: " + tmp.resolve("nothing.json"), missing);

        Path broken = Files.writeString(tmp.resolve("broken.json"), "{\"schema\": \"crashagent-report\", ");
        Run invalid = locator("show", broken.toString());
        assertEquals(1, invalid.status());
        assertContains(invalid.err(), "crashagent: crash report " + broken + ": is not valid JSON", invalid);

        Run twoFiles = locator("show", "a.json", "b.json");
        assertEquals(2, twoFiles.status());
    }
}
