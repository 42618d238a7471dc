// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Report files for the tests, made from the fixture reports of real crashes (copied from
 * java-api's test resources, with build-ids and a diagnosis added): each gets a pid no process
 * has, its own timestamp, and its agent log and hs_err file in the test's directory.
 */
final class Reports {
    // Above Linux's largest pid_max (2^22), so never a live process: the report counts as pending.
    private static final AtomicLong NEXT_PID = new AtomicLong(5_000_000);

    private Reports() {}

    static JsonNode fixture(String name) throws IOException {
        try (InputStream in = Reports.class.getResourceAsStream("/reports/" + name + ".json")) {
            if (in == null) {
                throw new IOException("no fixture " + name);
            }
            return FakeSentry.JSON.readTree(in);
        }
    }

    static Path install(Path dir, String fixture, long timestampMs) throws IOException {
        return install(dir, fixture, timestampMs, r -> {});
    }

    /** Writes crashagent_pid&lt;pid&gt;.json, its .log and hs_err_pid&lt;pid&gt;.log into dir; returns the report. */
    static Path install(Path dir, String fixture, long timestampMs, Consumer<ObjectNode> edit) throws IOException {
        long pid = NEXT_PID.getAndIncrement();
        ObjectNode report = (ObjectNode) fixture(fixture);
        report.put("pid", pid);
        report.put("timestamp_ms", timestampMs);
        Path json = dir.resolve("crashagent_pid" + pid + ".json");
        Path log = dir.resolve("crashagent_pid" + pid + ".log");
        Path hsErr = dir.resolve("hs_err_pid" + pid + ".log");
        ObjectNode files = (ObjectNode) report.get("report");
        files.put("directory", dir.toString());
        files.put("json", json.toString());
        files.put("log", log.toString());
        ((ObjectNode) report.get("jvm")).put("hs_err", hsErr.toString());
        edit.accept(report);
        Files.writeString(log, "crashagent log of pid " + pid + "\n", StandardCharsets.UTF_8);
        Files.writeString(hsErr, "# A fatal error has been detected by the Java Runtime Environment (pid " + pid + ")\n",
                StandardCharsets.UTF_8);
        Files.write(json, FakeSentry.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
        return json;
    }

    static long pidOf(Path report) {
        String name = report.getFileName().toString();
        return Long.parseLong(name.substring("crashagent_pid".length(), name.indexOf('.')));
    }
}
