// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.crashagent.agent.ChildJvm.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The packaged agent jar, run as users run it: plain {@code java -jar}, nothing else on the class path. */
@EnabledOnOs(OS.LINUX)
class LocatorJarIT {
    static final Path JAR = Path.of(System.getProperty("crashagent.jar"));
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    static final String DLL = "native/windows-x86_64/crashagent.dll";

    record Run(int status, String out, String err) {}

    static Run javaJar(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(JAVA, "-jar", JAR.toString()));
        command.addAll(List.of(args));
        return run(dir, command);
    }

    /** Runs the jar as on Windows: the locator takes the OS from os.name. */
    static Run javaJarOnWindows(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(JAVA, "-Dos.name=Windows 11", "-jar", JAR.toString()));
        command.addAll(List.of(args));
        return run(dir, command);
    }

    static Run run(Path dir, List<String> command) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path out = dir.resolve("jar-out.txt");
        Path err = dir.resolve("jar-err.txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail("still running after 60 s: " + command);
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void theJarExtractsAWorkingAgentAndShowsItsReport() throws Exception {
        Path dir = ChildJvm.work().resolve("jar-" + System.nanoTime());
        Path expected = dir.resolve("agent lib/it's/libcrashagent.so").toAbsolutePath();
        Run path = javaJar(dir, "path", dir.resolve("agent lib/it's").toString());
        assertEquals(0, path.status(), path::toString);
        assertEquals("'-agentpath:" + dir.toAbsolutePath() + "/agent lib/it'\\''s/libcrashagent.so'\n", path.out());
        assertEquals("", path.err());

        // The way a script takes the flag: a POSIX shell reads the quoted text back as one word.
        Run sh = run(dir, List.of("sh", "-c", "eval \"flag=$(\"$0\" -jar \"$1\" path \"$2\")\" && printf %s \"$flag\"",
                JAVA, JAR.toString(), expected.getParent().toString()));
        assertEquals(new Run(0, "-agentpath:" + expected, ""), sh);
        Path lib = Path.of(sh.out().substring("-agentpath:".length()));

        Result crashed = ChildJvm.builder(Path.of(System.getProperty("java.home")), "jar-agent")
                .agentLibrary(lib).agent("").args("null-write").run();
        assertEquals(134, crashed.exitCode(), crashed::toString);
        Path report = crashed.onlyFile("crashagent_pid", ".json");

        Run show = javaJar(dir, "show", report.toString());
        assertEquals(0, show.status(), show::toString);
        assertTrue(show.out().contains("SIGSEGV (SEGV_MAPERR) at address 0x0"), show::toString);
        assertTrue(show.out().contains("native method: io.github.crashagent.testapp.CrashNative.nullWrite()V"), show::toString);
        assertEquals("", show.err());

        Run bad = javaJar(dir, "show", JAR.toString());
        assertEquals(1, bad.status(), bad::toString);
        assertTrue(bad.err().startsWith("crashagent: crash report " + JAR + ": is not valid JSON"), bad::toString);
    }

    @Test
    void onWindowsTheJarExtractsItsDllAndDoubleQuotesTheFlag() throws Exception {
        byte[] dll = jarEntry(DLL);
        if (dll == null) {
            assertNotEquals("true", System.getProperty("crashagent.windows"),
                    "built with the Windows toolchain, yet the jar has no " + DLL);
            assumeTrue(false, "the jar has no " + DLL + ": it was built with -Dcrashagent.windows=false");
        }
        Path dir = ChildJvm.work().resolve("jar-windows-" + System.nanoTime());
        Run path = javaJarOnWindows(dir, "path", dir.resolve("Program Files/crash agent").toString());
        assertEquals(0, path.status(), path::toString);
        assertEquals("\"-agentpath:" + dir.toAbsolutePath() + "/Program Files/crash agent/crashagent.dll\"\n", path.out());
        assertEquals("", path.err());
        byte[] extracted = Files.readAllBytes(dir.resolve("Program Files/crash agent/crashagent.dll"));
        assertArrayEquals(dll, extracted);
        assertEquals("MZ", new String(extracted, 0, 2, StandardCharsets.US_ASCII), "a PE image");
    }

    @Test
    void onWindowsAJarWithoutTheDllSaysHowItWasBuilt() throws Exception {
        assumeTrue(jarEntry(DLL) == null, "the jar has " + DLL + " (built without -Dcrashagent.windows=false)");
        Path dir = ChildJvm.work().resolve("jar-windows-" + System.nanoTime());
        Run path = javaJarOnWindows(dir, "path", dir.resolve("lib").toString());
        assertEquals(new Run(1, "", "crashagent: this jar has no " + DLL + "; it was built without windows-x86_64"
                + " (-Dcrashagent.windows=false)\n"), path);
        assertFalse(Files.exists(dir.resolve("lib")));
    }

    /** The bytes of a jar entry, or null when the jar has none by that name. */
    static byte[] jarEntry(String name) throws IOException {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            JarEntry entry = jar.getJarEntry(name);
            if (entry == null) {
                return null;
            }
            try (var in = jar.getInputStream(entry)) {
                return in.readAllBytes();
            }
        }
    }

    @Test
    void theJarCarriesJacksonRelocated() throws Exception {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            assertTrue(jar.stream().noneMatch(e -> e.getName().startsWith("com/fasterxml/")), "unrelocated Jackson");
            assertTrue(jar.getEntry("io/github/crashagent/shaded/jackson/databind/ObjectMapper.class") != null);
            assertTrue(jar.getEntry("io/github/crashagent/CrashReport.class") != null);
            assertTrue(jar.getEntry("native/linux-x86_64/libcrashagent.so") != null);
            // Built with the aarch64 cross compiler unless -Dcrashagent.aarch64=false.
            assertEquals(!"false".equals(System.getProperty("crashagent.aarch64")),
                    jar.getEntry("native/linux-aarch64/libcrashagent.so") != null);
            assertTrue(jar.stream().noneMatch(e -> e.getName().contains("libcrashtest")), "test library in the jar");
        }
    }
}
