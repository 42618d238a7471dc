// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm;
import io.github.crashagent.agent.ChildJvm.Result;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * SentrySample and OpenTelemetrySample, each run as its own JVM the way the docs say, deliver the
 * report of a real crash (the demo's null-write, with the agent) to a local receiver and
 * acknowledge it.
 */
@EnabledOnOs(OS.LINUX)
class IntegrationSamplesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path crashedReport;
    private static CrashReport crash;

    @BeforeAll
    static void crashOnce() throws Exception {
        Path dir = ChildJvm.work().resolve("integration-crash-" + System.nanoTime());
        Result r = ChildJvm.builder(Path.of(System.getProperty("java.home")), "integration-crash")
                .dir(dir)
                .agent("")
                .mainClass(Demo.class.getName())
                .jvmFlags("-Dcrashagent.demoLibrary=" + System.getProperty("crashagent.demoLibrary"))
                .args("null-write")
                .run();
        assertEquals(134, r.exitCode(), r::toString);
        crashedReport = r.onlyFile("crashagent_pid", ".json");
        crash = CrashReport.read(crashedReport);
        assertEquals("io.github.crashagent.samples.NativeFaults.nullWrite()V", crash.event().nativeMethod());
        assertTrue(demoBuildId().matches("[0-9a-f]{40}"), demoBuildId());
    }

    /** The build-id the report gives the demo library, the module the crash is in. */
    private static String demoBuildId() {
        return crash.modules().stream().filter(m -> m.path().equals(crash.event().module()))
                .findFirst().orElseThrow().buildId();
    }

    /** A directory of its own holding the crash's report, pending. */
    private static Path pendingCopy(String name) throws IOException {
        Path dir = ChildJvm.work().resolve(name + "-" + System.nanoTime());
        Files.createDirectories(dir);
        Files.copy(crashedReport, dir.resolve(crashedReport.getFileName()));
        assertEquals(1, CrashAgent.pendingReports(dir).size());
        return dir;
    }

    private static Result runSample(Class<?> main, Path dir, Map<String, String> environment) throws Exception {
        Map<String, String> env = new HashMap<>(environment);
        env.put("CRASHAGENT_REPORT_DIR", dir.toString());
        return ChildJvm.builder(Path.of(System.getProperty("java.home")), main.getSimpleName())
                .mainClass(main.getName())
                .environment(env)
                .run();
    }

    @Test
    void sentrySampleSendsTheCrashToSentry() throws Exception {
        Path dir = pendingCopy("sentry-sample");
        try (LocalReceiver sentry = new LocalReceiver()) {
            Result r = runSample(SentrySample.class, dir,
                    Map.of("SENTRY_DSN", "http://key@127.0.0.1:" + sentry.port() + "/1"));
            assertEquals(0, r.exitCode(), r::toString);
            assertContains(r.stdout(), "sent 1, left pending 0", r);

            List<JsonNode> events = new ArrayList<>();
            for (LocalReceiver.Request request : sentry.requests) {
                if (request.path().equals("/api/1/envelope/")) {
                    for (String line : new String(request.body(), StandardCharsets.UTF_8).split("\n")) {
                        if (line.startsWith("{") && line.contains("\"fingerprint\"")) {
                            events.add(JSON.readTree(line));
                        }
                    }
                }
            }
            assertEquals(1, events.size(), sentry.requests::toString);
            JsonNode event = events.get(0);
            assertEquals(crash.event().signature(), event.path("fingerprint").path(0).asText());
            assertEquals("fatal", event.path("level").asText());
            assertEquals(crash.event().nativeMethod(), event.path("tags").path("crashagent.native_method").asText());
            boolean demoImage = false;
            for (JsonNode image : event.path("debug_meta").path("images")) {
                if (image.path("code_file").asText().equals(crash.event().module())) {
                    assertEquals(demoBuildId(), image.path("code_id").asText());
                    demoImage = true;
                }
            }
            assertTrue(demoImage, "a debug image for libcrashdemo.so");
            JsonNode javaStack = event.path("exception").path("values").path(0).path("stacktrace").path("frames");
            assertEquals("main", javaStack.path(0).path("function").asText(), javaStack::toString);
            assertEquals(Demo.class.getName(), javaStack.path(0).path("module").asText(), javaStack::toString);
        }
        assertEquals(List.of(), CrashAgent.pendingReports(dir), "acknowledged");
    }

    @Test
    void sentrySampleWithoutADsnSaysWhatToSet() throws Exception {
        Path dir = pendingCopy("sentry-sample-no-dsn");
        Result r = runSample(SentrySample.class, dir, Map.of());
        assertEquals(2, r.exitCode(), r::toString);
        assertContains(r.stderr(), "set SENTRY_DSN", r);
        assertEquals(1, CrashAgent.pendingReports(dir).size());
    }

    private static Map<String, String> attributes(LogRecord record) {
        Map<String, String> map = new HashMap<>();
        for (KeyValue kv : record.getAttributesList()) {
            map.put(kv.getKey(), kv.getValue().hasIntValue() ? Long.toString(kv.getValue().getIntValue())
                    : kv.getValue().getStringValue());
        }
        return map;
    }

    @Test
    void openTelemetrySampleExportsTheCrashToTheCollector() throws Exception {
        Path dir = pendingCopy("otel-sample");
        try (LocalReceiver collector = new LocalReceiver()) {
            Result r = runSample(OpenTelemetrySample.class, dir,
                    Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl(), "OTEL_SERVICE_NAME", "sample-shop"));
            assertEquals(0, r.exitCode(), r::toString);
            assertContains(r.stdout(), "exported 1 to " + collector.baseUrl() + "/v1/logs, left pending 0", r);

            List<LogRecord> records = new ArrayList<>();
            String service = null;
            for (LocalReceiver.Request request : collector.requests) {
                assertEquals("/v1/logs", request.path());
                ExportLogsServiceRequest export = ExportLogsServiceRequest.parseFrom(request.body());
                for (var resourceLogs : export.getResourceLogsList()) {
                    for (KeyValue kv : resourceLogs.getResource().getAttributesList()) {
                        if (kv.getKey().equals("service.name")) {
                            service = kv.getValue().getStringValue();
                        }
                    }
                    resourceLogs.getScopeLogsList().forEach(s -> records.addAll(s.getLogRecordsList()));
                }
            }
            assertEquals(1, records.size());
            assertEquals("sample-shop", service);
            LogRecord record = records.get(0);
            assertEquals("app.crash", record.getEventName());
            Map<String, String> attributes = attributes(record);
            assertEquals(crash.event().signature(), attributes.get("crashagent.signature"));
            assertEquals(Long.toString(crash.pid()), attributes.get("process.pid"));
            assertEquals(crash.event().nativeMethod(), attributes.get("crashagent.native_method"));
            assertEquals(demoBuildId(), attributes.get("crashagent.build_id"));
            assertTrue(attributes.get("exception.stacktrace").contains("libcrashdemo.so+0x"),
                    attributes.get("exception.stacktrace"));
            assertTrue(attributes.get("exception.stacktrace").contains("at " + Demo.class.getName() + ".main("),
                    attributes.get("exception.stacktrace"));
        }
        assertEquals(List.of(), CrashAgent.pendingReports(dir), "acknowledged");
    }

    @Test
    void openTelemetrySampleLeavesTheCrashPendingWhenTheCollectorFails() throws Exception {
        Path dir = pendingCopy("otel-sample-failing");
        try (LocalReceiver collector = new LocalReceiver()) {
            collector.status.set(500);
            Result r = runSample(OpenTelemetrySample.class, dir,
                    Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl()));
            assertEquals(0, r.exitCode(), r::toString);
            assertContains(r.stdout(), "exported 0 to " + collector.baseUrl() + "/v1/logs, left pending 1", r);
            assertEquals(1, collector.requests.size());
        }
        assertEquals(1, CrashAgent.pendingReports(dir).size(), "still pending for the next start");
    }
}
