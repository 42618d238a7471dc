// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.crashagent.CrashAgent;
import io.github.crashagent.agent.ChildJvm.Result;
import io.github.crashagent.testapp.CrashNative;
import io.github.crashagent.testapp.PlainClassPathApp;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An application whose class path is its own classes and crashagent-api, without Jackson:
 * listeners work, and reading reports says which artifact is missing.
 */
@EnabledOnOs(OS.LINUX)
class PlainClassPathTest {
    private static final String APP = PlainClassPathApp.class.getName();
    private static final String ARTIFACT = "com.fasterxml.jackson.core:jackson-databind";

    static Stream<Path> jdks() throws IOException {
        return ChildJvm.jdks();
    }

    /** crashagent-api (its classes or jar, as the build has it) and the test classes, nothing else. */
    private static List<Path> plainClassPath() throws URISyntaxException {
        return List.of(codeSource(CrashAgent.class), codeSource(CrashNative.class));
    }

    private static Path codeSource(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void listenerRunsWithOnlyTheApiOnTheClassPath(Path jdk) throws Exception {
        Result r = ChildJvm.builder(jdk, "plain-class-path-crash").agent("").classPath(plainClassPath())
                .mainClass(APP).jvmFlags("-Xlog:class+load:file=classes.log").args("crash").run();

        assertEquals(134, r.exitCode(), r::toString);
        assertFalse(r.stderr().contains("NoClassDefFoundError"), r::toString);
        assertTrue(r.stdout().contains("agent active: true"), r::toString);
        JsonNode report = r.report();
        assertEquals("complete", report.at("/dispatch/status").asText(), report::toPrettyString);
        assertEquals(PlainClassPathApp.MarkerListener.class.getName(), report.at("/listeners/0/name").asText());
        assertEquals("ok", report.at("/listeners/0/outcome").asText(), report::toPrettyString);
        assertEquals("kind=SIGSEGV\nnativeMethod=" + CrashNative.class.getName() + ".nullWrite()V\n",
                Files.readString(r.dir().resolve("listener-ran.txt"), StandardCharsets.UTF_8), r::toString);

        // Registering and dispatching load no Jackson and no logging backend. The log reaches
        // into the dispatch: only the dispatch loads NativeEventDecoder.
        List<String> loaded = Files.readAllLines(r.dir().resolve("classes.log"));
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" io.github.crashagent.NativeEventDecoder ")),
                () -> "the class log does not cover the dispatch\n" + r);
        List<String> unwanted = loaded.stream()
                .filter(l -> l.contains(" com.fasterxml.") || l.contains("source: jrt:/java.logging")
                        || l.contains(" java.util.logging.") || l.contains(" jdk.internal.logger.")
                        || l.contains(" sun.util.logging."))
                .toList();
        assertEquals(List.of(), unwanted, r::toString);
    }

    @Test
    void readingReportsWithoutJacksonSaysWhichArtifactToAdd() throws Exception {
        Path dir = ChildJvm.work().resolve("plain-class-path-read-" + System.nanoTime());
        Path reports = Files.createDirectories(dir.resolve("reports"));
        // Any content: the missing dependency is reported before the file is looked at.
        Path report = Files.writeString(reports.resolve("crashagent_pid1.json"), "{}");

        Result r = ChildJvm.builder(Path.of(System.getProperty("java.home")), "plain-class-path-read")
                .agent("dir=" + reports).classPath(plainClassPath()).dir(dir).mainClass(APP)
                .args("read", report.toString(), reports.toString()).run();

        assertEquals(0, r.exitCode(), r::toString);
        String expected = "reading crash reports needs Jackson, which is not on the class path: add " + ARTIFACT
                + " to the application's dependencies";
        List<String> lines = r.stdout().lines().toList();
        assertEquals(3, lines.size(), r::toString);
        for (String call : List.of("read", "pendingReports(dir)", "pendingReports()")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(call + ": " + expected)), () -> call + "\n" + r);
        }
    }
}
