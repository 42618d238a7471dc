// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashAgent;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An application with the OpenTelemetry API but no SDK (the SDK is a provided dependency) can call
 * the exporter: nothing can confirm a delivery there, so the reports stay pending, with a warning,
 * and no missing SDK class breaks the call.
 */
class ApiOnlyTest {
    @TempDir
    Path dir;

    @Test
    void withTheApiAloneTheReportsStayPendingWithAWarning() throws Exception {
        Path file = Reports.install(dir, "null-write", 1_795_279_487_733L);
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            if (!name.startsWith("opentelemetry-sdk") && !name.startsWith("opentelemetry-exporter")) {
                classPath.add(entry);
            }
        }
        assertTrue(classPath.stream().anyMatch(e -> Path.of(e).getFileName().toString().startsWith("opentelemetry-api")),
                classPath::toString);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", String.join(File.pathSeparator, classPath), ApiOnlyMain.class.getName(), dir.toString())
                .start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out + err);
        assertEquals("exported 0, left pending 1", out.strip(), err);
        assertTrue(err.contains("no exporter confirms delivery"), err);
        assertFalse(err.contains("NoClassDefFoundError"), err);
        assertEquals(List.of(file), CrashAgent.pendingReports(dir).stream().map(r -> r.file()).toList());
    }
}
