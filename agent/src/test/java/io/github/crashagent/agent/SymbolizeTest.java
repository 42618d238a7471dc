// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.agent.ChildJvm.Result;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * show --symbolize on real reports: a crash in the test library with its debug info, the same
 * library stripped with its debug file in a .build-id tree, a debug file of another build, and
 * no symbolizer at all.
 */
@EnabledOnOs(OS.LINUX)
class SymbolizeTest {
    private static final Path JDK = Path.of(System.getProperty("java.home"));

    @TempDir
    Path temp;

    /** The line of crashtest.cpp that writes through the null pointer. */
    private static String nullWriteLine() throws IOException {
        Path source = Path.of(System.getProperty("user.dir")).resolve("../cpp/test/jni/crashtest.cpp").normalize();
        List<String> lines = Files.readAllLines(source);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals("*g_null = value;")) return "crashtest.cpp:" + (i + 1);
        }
        throw new IllegalStateException("no null write in " + source);
    }

    private static String show(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> command = new ArrayList<>(List.of("show"));
        command.addAll(List.of(args));
        // The machine's debuginfod settings stay out: these cases are about files on disk.
        java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.remove("DEBUGINFOD_URLS");
        Locator.Host host = new Locator.Host(System.getProperty("os.name"), System.getProperty("os.arch"), env,
                System.getProperty("user.home"));
        int status = Locator.run(command.toArray(new String[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), host, Locator.class.getClassLoader());
        String text = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        return text;
    }

    private static String frameZero(String shown) {
        int at = shown.indexOf("  #0 ");
        int end = shown.indexOf("  #1 ", at);
        return shown.substring(at, end < 0 ? shown.length() : end);
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + out);
    }

    @Test
    void aCrashInALibraryWithDebugInfoResolvesToItsSourceLine() throws Exception {
        Result r = ChildJvm.run(JDK, "symbolize", "", "null-write");
        Path report = r.onlyFile("crashagent_pid", ".json");
        String shown = show("--symbolize", report.toString());
        assertContains(frameZero(shown), "write_through_null", r);
        assertContains(frameZero(shown), "/" + nullWriteLine() + ")", r);
        // Without --symbolize nothing is resolved.
        assertFalse(show(report.toString()).contains(nullWriteLine()));
        // --json: the same, for tools.
        com.fasterxml.jackson.databind.JsonNode json = ChildJvm.JSON.readTree(show("--symbolize", "--json", report.toString()));
        com.fasterxml.jackson.databind.JsonNode first = json.path("frames").get(0);
        assertEquals(0, first.path("index").asInt());
        assertTrue(first.path("module").asText().endsWith("/libcrashtest.so"), first::toString);
        assertTrue(first.at("/lines/0/function").asText().contains("write_through_null"), first::toString);
        assertTrue(first.at("/lines/0/location").asText().endsWith("/" + nullWriteLine()), first::toString);
        assertTrue(first.path("problem").isNull(), first::toString);
    }

    @Test
    void aStrippedLibraryResolvesThroughItsDebugFileInABuildIdTree() throws Exception {
        Path lib = Files.createDirectories(temp.resolve("lib")).resolve("libcrashtest.so");
        Files.copy(ChildJvm.TEST_LIBRARY, lib);
        Path full = temp.resolve("full.debug");
        run("objcopy", "--only-keep-debug", lib.toString(), full.toString());
        run("strip", "--strip-debug", "--strip-unneeded", lib.toString());
        String buildId = Symbolizer.readBuildId(lib);
        assertEquals(buildId, Symbolizer.readBuildId(full), "strip keeps the build-id");
        Path debugDir = temp.resolve("debug");
        Path byId = debugDir.resolve(".build-id").resolve(buildId.substring(0, 2)).resolve(buildId.substring(2) + ".debug");
        Files.createDirectories(byId.getParent());
        Files.move(full, byId);

        Result r = ChildJvm.builder(JDK, "symbolize-stripped").agent("").jvmFlags("-Dcrashagent.testLibrary=" + lib)
                .args("null-write").run();
        Path report = r.onlyFile("crashagent_pid", ".json");
        assertContains(Files.readString(report), "\"build_id\": \"" + buildId + "\"", r);
        // The stripped file alone has no line information.
        assertContains(frameZero(show("--symbolize", report.toString())), "(no line information)", r);
        String shown = show("--symbolize", "--debug-dir", debugDir.toString(), report.toString());
        assertContains(frameZero(shown), "/" + nullWriteLine() + ")", r);

        // A debug file of another build is not used, and the report says why.
        Path other = Files.createDirectories(temp.resolve("other"));
        Files.copy(ChildJvm.agentLibrary(), other.resolve("libcrashtest.so"));
        Files.delete(lib);
        String mismatched = frameZero(show("--symbolize", "--debug-dir", other.toString(), report.toString()));
        assertContains(mismatched, "(build-id mismatch: " + other.resolve("libcrashtest.so") + " has ", r);
        assertContains(mismatched, ", the report " + buildId + ")", r);
    }

    @Test
    void withoutASymbolizerTheMessageNamesThePackagesToInstall() throws Exception {
        Result r = ChildJvm.run(JDK, "symbolize-no-tool", "", "null-write");
        Path report = r.onlyFile("crashagent_pid", ".json");
        ProcessBuilder pb = new ProcessBuilder(JDK.resolve("bin/java").toString(), "-cp",
                System.getProperty("java.class.path"), Locator.class.getName(), "show", "--symbolize", report.toString())
                .redirectErrorStream(true);
        pb.environment().put("PATH", temp.toString());  // an empty directory: no tools
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertContains(out, "--symbolize needs llvm-symbolizer, eu-addr2line or addr2line on the PATH", out);
        assertContains(out, "apt-get install binutils", out);
    }
}
