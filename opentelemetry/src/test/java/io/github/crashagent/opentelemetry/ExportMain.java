// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A process that exports the pending reports of a directory, for the tests that start several at
 * once: it prints "ready" when its SDK is set up, waits for a line on stdin, exports, and prints one
 * "exported &lt;file&gt;" line per report it sent.
 */
public final class ExportMain {
    private ExportMain() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String endpoint = args[1];
        OpenTelemetrySdk sdk = OtelTestSdk.create(endpoint, true);
        CrashReportExporter exporter = new CrashReportExporter().setExportTimeout(Duration.ofSeconds(30));
        System.out.println("ready");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        CrashReportExporter.Summary summary = exporter.exportPending(sdk, dir);
        for (Path file : summary.exported()) {
            System.out.println("exported " + file);
        }
        System.out.println("left " + summary.leftPending().size());
        sdk.shutdown().join(10, TimeUnit.SECONDS);
    }
}
