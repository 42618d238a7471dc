// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Report files for the tests, made from the fixture reports of real crashes (the sentry module's,
 * from java-api's test resources with build-ids and a diagnosis added): each gets a pid no process
 * has and its own timestamp.
 */
final class Reports {
    static final ObjectMapper JSON = new ObjectMapper();
    // Above Linux's largest pid_max (2^22), so never a live process: the report counts as pending.
    private static final AtomicLong NEXT_PID = new AtomicLong(5_000_000 + (ProcessHandle.current().pid() % 1000) * 1000);

    private Reports() {}

    /** Writes crashagent_pid&lt;pid&gt;.json into dir; returns the report file. */
    static Path install(Path dir, String fixture, long timestampMs) throws IOException {
        long pid = NEXT_PID.getAndIncrement();
        ObjectNode report;
        try (InputStream in = Reports.class.getResourceAsStream("/reports/" + fixture + ".json")) {
            if (in == null) {
                throw new IOException("no fixture " + fixture);
            }
            report = (ObjectNode) JSON.readTree(in);
        }
        report.put("pid", pid);
        report.put("timestamp_ms", timestampMs);
        Path json = dir.resolve("crashagent_pid" + pid + ".json");
        ObjectNode files = (ObjectNode) report.get("report");
        files.put("directory", dir.toString());
        files.put("json", json.toString());
        files.putNull("log");
        ((ObjectNode) report.get("jvm")).putNull("hs_err");
        Files.write(json, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
        return json;
    }
}
