// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.agent.ChildJvm.Result;
import io.github.crashagent.agent.Locator.Host;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent jar's commands, run in-process (LocatorJarIT runs the packaged jar). Windows is a
 * {@link Host} value here, with a stand-in jar where the DLL would be.
 */
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

    static final String NL = System.lineSeparator();
    static final Host LINUX = linux(Map.of());
    static final Host WINDOWS = windows(Map.of("LOCALAPPDATA", "C:\\Users\\A B\\AppData\\Local"));
    // What the stand-in jar below carries instead of the real libraries.
    static final byte[] DLL_STAND_IN = "MZ stand-in for crashagent.dll".getBytes(StandardCharsets.US_ASCII);
    static final byte[] SO_STAND_IN = "ELF stand-in for libcrashagent.so".getBytes(StandardCharsets.US_ASCII);

    static Host windows(Map<String, String> env) {
        return new Host("Windows 11", "amd64", env, "C:\\Users\\A B");
    }

    static Host linux(Map<String, String> env) {
        return new Host("Linux", "amd64", env, "/home/a b");
    }

    static Run locator(String... args) {
        return locator(Host.current(), Locator.class.getClassLoader(), args);
    }

    static Run locator(Host host, ClassLoader natives, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Locator.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), host, natives);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A class path with stand-ins for the native libraries, one per given name (windows-x86_64, linux-x86_64). */
    URLClassLoader standIns(String... platforms) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("stand-ins-" + String.join("+", platforms)));
        for (String platform : platforms) {
            boolean windows = platform.startsWith("windows");
            Path file = root.resolve("native").resolve(platform).resolve(windows ? "crashagent.dll" : "libcrashagent.so");
            Files.createDirectories(file.getParent());
            Files.write(file, windows ? DLL_STAND_IN : SO_STAND_IN);
        }
        return new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
    }

    static byte[] resource(String name) throws Exception {
        try (InputStream in = Locator.class.getClassLoader().getResourceAsStream(name)) {
            assertTrue(in != null, "no resource " + name);
            return in.readAllBytes();
        }
    }

    /** The words a POSIX shell makes of text. */
    static List<String> shellWords(String text) throws Exception {
        Process sh = new ProcessBuilder("sh", "-c", "eval \"set -- $1\"; printf '%s\\0' \"$@\"", "sh", text)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(sh.waitFor(30, TimeUnit.SECONDS), "sh still running");
        assertEquals(0, sh.exitValue(), () -> "sh failed on: " + text);
        assertTrue(out.endsWith("\0"), () -> "no words in: " + text);
        return List.of(out.substring(0, out.length() - 1).split("\0", -1));
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
    void theDefaultDirectoryIsTheUsersCacheOnLinuxAndLocalAppDataOnWindows() {
        String local = "C:\\Users\\A B\\AppData\\Local\\crashagent\\1.2.3";
        assertEquals(local, WINDOWS.defaultDirectory("1.2.3"));
        assertEquals(local, windows(Map.of("LOCALAPPDATA", "C:\\Users\\A B\\AppData\\Local\\")).defaultDirectory("1.2.3"));
        assertEquals(local, windows(Map.of()).defaultDirectory("1.2.3"), "LOCALAPPDATA unset: under user.home");
        assertEquals(local, windows(Map.of("LOCALAPPDATA", "AppData")).defaultDirectory("1.2.3"), "not absolute");
        assertEquals("D:\\crashagent\\1.2.3", windows(Map.of("LOCALAPPDATA", "D:\\")).defaultDirectory("1.2.3"));
        assertEquals("\\\\server\\profiles\\a\\crashagent\\1.2.3",
                windows(Map.of("LOCALAPPDATA", "\\\\server\\profiles\\a")).defaultDirectory("1.2.3"));

        String cache = "/home/a b/.cache/crashagent/1.2.3/linux-x86_64";
        assertEquals(cache, LINUX.defaultDirectory("1.2.3"));
        assertEquals(cache, linux(Map.of("XDG_CACHE_HOME", "cache")).defaultDirectory("1.2.3"), "not absolute");
        assertEquals("/var/cache/a/crashagent/1.2.3/linux-x86_64",
                linux(Map.of("XDG_CACHE_HOME", "/var/cache/a/")).defaultDirectory("1.2.3"));
    }

    @Test
    void theHostDecidesPlatformAndLibrary() {
        assertEquals("windows-x86_64", WINDOWS.platform());
        assertEquals("crashagent.dll", WINDOWS.libraryName());
        assertEquals("linux-x86_64", new Host("Linux", "x86_64", Map.of(), "/root").platform());
        assertEquals("libcrashagent.so", LINUX.libraryName());
        assertEquals("linux-aarch64", new Host("Linux", "aarch64", Map.of(), "/root").platform());
        assertEquals("linux-aarch64", new Host("Linux", "arm64", Map.of(), "/root").platform());
        assertEquals("crashagent supports x86-64 and (on Linux) aarch64 only, not ppc64le",
                assertThrows(IllegalStateException.class, () -> new Host("Linux", "ppc64le", Map.of(), "/root").platform())
                        .getMessage());
        assertEquals("crashagent supports Windows on x86-64 only, not aarch64", assertThrows(IllegalStateException.class,
                () -> new Host("Windows 11", "aarch64", Map.of(), "C:\\Users\\a").platform()).getMessage());
        assertEquals("crashagent supports Linux and Windows only, not Mac OS X", assertThrows(IllegalStateException.class,
                () -> new Host("Mac OS X", "x86_64", Map.of(), "/Users/a").platform()).getMessage());
    }

    @Test
    void theFlagIsQuotedForTheHostsShells() throws Exception {
        assertEquals("-agentpath:/opt/crashagent/0.1.0/linux-x86_64/libcrashagent.so",
                LINUX.agentPathFlag("/opt/crashagent/0.1.0/linux-x86_64/libcrashagent.so"));
        assertEquals("'-agentpath:/home/a b/.cache/crashagent/libcrashagent.so'",
                LINUX.agentPathFlag("/home/a b/.cache/crashagent/libcrashagent.so"));
        assertEquals("'-agentpath:/srv/it'\\''s/libcrashagent.so'", LINUX.agentPathFlag("/srv/it's/libcrashagent.so"));
        // PowerShell splits a bare -agentpath:...crashagent.dll at the '.', so Windows always gets quotes.
        assertEquals("\"-agentpath:C:\\Users\\A B\\AppData\\Local\\crashagent\\1.2.3\\crashagent.dll\"",
                WINDOWS.agentPathFlag("C:\\Users\\A B\\AppData\\Local\\crashagent\\1.2.3\\crashagent.dll"));
        assertEquals("\"-agentpath:C:\\crashagent\\crashagent.dll\"", WINDOWS.agentPathFlag("C:\\crashagent\\crashagent.dll"));

        // A POSIX shell reads each flag back as the one argument it stands for.
        for (String library : List.of("/plain/libcrashagent.so", "/a b/it's/libcrashagent.so", "/x/$HOME/`id`/\"q\"/libcrashagent.so",
                "/x/*;&|<>(){}!#~\\/\ttab/\nline/libcrashagent.so")) {
            assertEquals(List.of("-agentpath:" + library), shellWords(LINUX.agentPathFlag(library)), library);
        }
    }

    @Test
    void onWindowsPathExtractsTheDllIntoADirectoryWithSpacesAndDoubleQuotesTheFlag() throws Exception {
        Path dir = tmp.resolve("Program Files").resolve("crash agent");
        Run run;
        try (URLClassLoader jar = standIns("linux-x86_64", "windows-x86_64")) {
            run = locator(WINDOWS, jar, "path", dir.toString());
        }
        Path dll = dir.resolve("crashagent.dll").toAbsolutePath();
        assertEquals(0, run.status(), run::toString);
        assertEquals("\"-agentpath:" + tmp.toAbsolutePath() + "/Program Files/crash agent/crashagent.dll\"" + NL, run.out());
        assertEquals("", run.err());
        assertArrayEquals(DLL_STAND_IN, Files.readAllBytes(dll));
        try (var list = Files.list(dir)) {
            assertEquals(List.of(dll), list.toList(), "only the DLL");
        }
    }

    @Test
    void onWindowsAPathThatShellsExpandGetsANote() throws Exception {
        Path dir = tmp.resolve("100%").resolve("$work");
        Run run;
        try (URLClassLoader jar = standIns("windows-x86_64")) {
            run = locator(WINDOWS, jar, "path", dir.toString());
        }
        assertEquals(0, run.status(), run::toString);
        assertEquals("\"-agentpath:" + tmp.toAbsolutePath() + "/100%/$work/crashagent.dll\"" + NL, run.out());
        assertContains(run.err(), "crashagent: note: the path has %, $ or `, which cmd.exe (%NAME%) or PowerShell"
                + " ($name, `) may expand even inside double quotes", run);
    }

    @Test
    void aJarBuiltWithoutTheWindowsLibrarySaysSoOnWindows() throws Exception {
        Path dir = tmp.resolve("lib");
        Run run;
        try (URLClassLoader jar = standIns("linux-x86_64")) {
            run = locator(WINDOWS, jar, "path", dir.toString());
        }
        assertEquals(1, run.status(), run::toString);
        assertEquals("", run.out());
        assertEquals("crashagent: this jar has no native/windows-x86_64/crashagent.dll; it was built without"
                + " windows-x86_64 (-Dcrashagent.windows=false)" + NL, run.err());
        assertFalse(Files.exists(dir));
    }

    @Test
    void onAnAarch64JvmPathExtractsTheAarch64Library() throws Exception {
        Host arm64 = new Host("Linux", "aarch64", Map.of(), "/home/a");
        assertEquals("/home/a/.cache/crashagent/1.2.3/linux-aarch64", arm64.defaultDirectory("1.2.3"));
        Path root = Files.createDirectories(tmp.resolve("both-linux"));
        for (String platform : List.of("linux-x86_64", "linux-aarch64")) {
            Path file = root.resolve("native").resolve(platform).resolve("libcrashagent.so");
            Files.createDirectories(file.getParent());
            Files.writeString(file, "stand-in for " + platform);
        }
        Path dir = tmp.resolve("arm64 lib");
        Run run;
        try (URLClassLoader jar = new URLClassLoader(new URL[] {root.toUri().toURL()}, null)) {
            run = locator(arm64, jar, "path", dir.toString());
        }
        assertEquals(0, run.status(), run::toString);
        assertEquals("'-agentpath:" + dir.resolve("libcrashagent.so").toAbsolutePath() + "'" + NL, run.out());
        assertEquals("stand-in for linux-aarch64", Files.readString(dir.resolve("libcrashagent.so")));

        // A jar built with -Dcrashagent.aarch64=false says so.
        Run without;
        try (URLClassLoader jar = standIns("linux-x86_64")) {
            without = locator(arm64, jar, "path", tmp.resolve("none").toString());
        }
        assertEquals(1, without.status(), without::toString);
        assertEquals("crashagent: this jar has no native/linux-aarch64/libcrashagent.so; it was built without"
                + " linux-aarch64 (-Dcrashagent.aarch64=false)" + NL, without.err());
    }

    @Test
    void onLinuxPathExtractsIntoADirectoryWithSpacesAndSingleQuotesTheFlag() throws Exception {
        Path dir = tmp.resolve("my libs").resolve("it's here");
        Run run = locator(LINUX, Locator.class.getClassLoader(), "path", dir.toString());
        assertEquals(0, run.status(), run::toString);
        assertEquals("'-agentpath:" + tmp.toAbsolutePath() + "/my libs/it'\\''s here/libcrashagent.so'" + NL, run.out());
        assertEquals("", run.err());
        Path lib = dir.resolve("libcrashagent.so");
        assertArrayEquals(resource("native/linux-x86_64/libcrashagent.so"), Files.readAllBytes(lib));
        assertArrayEquals(Files.readAllBytes(ChildJvm.agentLibrary()), Files.readAllBytes(lib));
    }

    @Test
    void withoutADirectoryPathExtractsToTheCacheDirectory() throws Exception {
        Path cache = tmp.resolve("cache home");
        Run run = locator(linux(Map.of("XDG_CACHE_HOME", cache.toAbsolutePath().toString())),
                Locator.class.getClassLoader(), "path");
        Path lib = cache.resolve("crashagent").resolve(Locator.version()).resolve("linux-x86_64").resolve("libcrashagent.so");
        assertEquals(0, run.status(), run::toString);
        assertEquals("'-agentpath:" + lib.toAbsolutePath() + "'" + NL, run.out());
        assertArrayEquals(resource("native/linux-x86_64/libcrashagent.so"), Files.readAllBytes(lib));
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
        assertContains(none.err(), "%LOCALAPPDATA%\\crashagent\\<version> on Windows", none);

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

    @Test
    void showRefusesASymbolicLinkInsteadOfFollowingIt() throws Exception {
        Path target = Files.writeString(tmp.resolve("secret.txt"), "{\"token\": \"S3CR3T\"}");
        Path link = Files.createSymbolicLink(tmp.resolve("crashagent_pid1.json"), target);
        Run run = locator("show", link.toString());
        assertEquals(1, run.status(), run::toString);
        assertContains(run.err(), "crashagent: crash report " + link + ": is a symbolic link", run);
        assertFalse(run.err().contains("S3CR3T") || run.out().contains("S3CR3T"), run::toString);
    }
}
