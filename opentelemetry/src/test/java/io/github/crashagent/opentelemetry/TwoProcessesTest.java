// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashAgent;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two JVMs starting at once against one report directory send each report once. */
class TwoProcessesTest {
    private static final long T0 = 1_795_279_487_733L;

    @TempDir
    Path dir;

    @Test
    void twoJvmsStartedAtOnceSendEachReportOnce() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            files.add(Reports.install(dir, i % 2 == 0 ? "null-write" : "own-thread", T0 + i * 1000L));
        }
        try (FakeCollector collector = new FakeCollector()) {
            List<Process> processes = new ArrayList<>();
            List<BufferedReader> outputs = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                            "-cp", System.getProperty("java.class.path"), ExportMain.class.getName(),
                            dir.toString(), collector.endpoint())
                            .redirectError(ProcessBuilder.Redirect.INHERIT)
                            .start();
                    processes.add(p);
                    outputs.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
                }
                // Both set up before either starts, so they race on the directory.
                for (BufferedReader out : outputs) {
                    assertEquals("ready", out.readLine());
                }
                for (Process p : processes) {
                    OutputStream in = p.getOutputStream();
                    in.write("go\n".getBytes(StandardCharsets.UTF_8));
                    in.flush();
                }
                Map<String, Integer> exportedBy = new HashMap<>();
                int left = 0;
                for (int i = 0; i < 2; i++) {
                    String line;
                    while ((line = outputs.get(i).readLine()) != null) {
                        if (line.startsWith("exported ")) {
                            exportedBy.merge(line.substring("exported ".length()), 1, Integer::sum);
                        } else if (line.startsWith("left ")) {
                            left += Integer.parseInt(line.substring("left ".length()));
                        }
                    }
                    assertTrue(processes.get(i).waitFor(60, TimeUnit.SECONDS));
                    assertEquals(0, processes.get(i).exitValue());
                }
                Map<String, Integer> received = new HashMap<>();
                collector.records.forEach(r -> received.merge(r.attribute("crashagent.report"), 1, Integer::sum));
                for (Path f : files) {
                    assertEquals(1, received.getOrDefault(f.toString(), 0), f + " received once: " + received);
                    assertEquals(1, exportedBy.getOrDefault(f.toString(), 0), f + " exported by one: " + exportedBy);
                }
                assertEquals(files.size(), collector.records.size());
                assertEquals(0, left);
                assertEquals(List.of(), CrashAgent.pendingReports(dir));
            } finally {
                processes.forEach(Process::destroyForcibly);
            }
        }
    }
}
