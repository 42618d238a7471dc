package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.crashagent.agent.ChildJvm.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The packaged agent jar, run as users run it: plain {@code java -jar}, nothing else on the class path. */
@EnabledOnOs(OS.LINUX)
class LocatorJarIT {
    static final Path JAR = Path.of(System.getProperty("crashagent.jar"));

    record Run(int status, String out, String err) {}

    static Run javaJar(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Files.createDirectories(dir);
        Path out = dir.resolve("jar-out.txt");
        Path err = dir.resolve("jar-err.txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail("java -jar still running after 60 s: " + command);
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void theJarExtractsAWorkingAgentAndShowsItsReport() throws Exception {
        Path dir = ChildJvm.work().resolve("jar-" + System.nanoTime());
        Run path = javaJar(dir, "path", dir.resolve("lib").toString());
        assertEquals(0, path.status(), path::toString);
        assertTrue(path.out().startsWith("-agentpath:"), path::toString);
        Path lib = Path.of(path.out().strip().substring("-agentpath:".length()));
        assertEquals(dir.resolve("lib/libcrashagent.so").toAbsolutePath(), lib);

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
    void theJarCarriesJacksonRelocated() throws Exception {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            assertTrue(jar.stream().noneMatch(e -> e.getName().startsWith("com/fasterxml/")), "unrelocated Jackson");
            assertTrue(jar.getEntry("io/github/crashagent/shaded/jackson/databind/ObjectMapper.class") != null);
            assertTrue(jar.getEntry("io/github/crashagent/CrashReport.class") != null);
            assertTrue(jar.getEntry("native/linux-x86_64/libcrashagent.so") != null);
            assertTrue(jar.stream().noneMatch(e -> e.getName().contains("libcrashtest")), "test library in the jar");
        }
    }
}
