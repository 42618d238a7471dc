// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.ReportClaim;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrashReportExporterTest {
    private static final long T0 = 1_795_279_487_733L;

    @TempDir
    Path dir;
    private FakeCollector collector;
    private final List<OpenTelemetrySdk> sdks = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        collector = new FakeCollector();
    }

    @AfterEach
    void stop() {
        sdks.forEach(sdk -> sdk.shutdown().join(10, TimeUnit.SECONDS));
        collector.close();
    }

    private OpenTelemetrySdk sdk(String endpoint) {
        OpenTelemetrySdk sdk = OtelTestSdk.create(endpoint, true);
        sdks.add(sdk);
        return sdk;
    }

    private static CrashReportExporter exporter() {
        return new CrashReportExporter().setExportTimeout(Duration.ofSeconds(30));
    }

    private List<Path> pending() throws IOException {
        List<Path> files = new ArrayList<>();
        for (CrashReport r : CrashAgent.pendingReports(dir)) {
            files.add(r.file());
        }
        return files;
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void aPendingReportBecomesOneAppCrashRecord() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        CrashReport report = CrashReport.read(file);
        CrashReportExporter.Summary summary = exporter().exportPending(sdk(collector.endpoint()), dir);

        assertEquals(List.of(file), summary.exported());
        assertEquals(List.of(), pending(), "acknowledged after the export succeeded");
        assertEquals(1, collector.records.size());
        FakeCollector.Received received = collector.records.get(0);
        var record = received.record();
        assertEquals("app.crash", record.getEventName());
        assertEquals(SeverityNumber.SEVERITY_NUMBER_FATAL, record.getSeverityNumber());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(T0), record.getTimeUnixNano());
        assertEquals("SIGSEGV: null pointer dereference (write) in libcrashtest.so"
                + " (native method io.github.crashagent.testapp.CrashNative.nullWrite()V)",
                record.getBody().getStringValue());
        assertEquals(CrashReportExporter.SCOPE_NAME, received.scope());
        assertEquals(OtelTestSdk.SERVICE, received.resource().get("service.name").getStringValue());

        assertEquals("SIGSEGV", received.attribute("exception.type"));
        assertEquals("null pointer dereference (write)", received.attribute("exception.message"));
        String stack = received.attribute("exception.stacktrace");
        List<String> lines = stack.lines().toList();
        assertEquals("SIGSEGV: null pointer dereference (write)", lines.get(0));
        assertEquals("\tat libcrashtest.so+0x113a (_ZN12_GLOBAL__N_118write_through_nullEi+0x11)", lines.get(1),
                stack);
        assertEquals(1 + report.nativeFrames().size() + 3, lines.size(), stack);
        assertEquals("\tat io.github.crashagent.testapp.CrashNative.nullWrite(Native Method)",
                lines.get(1 + report.nativeFrames().size()), stack);
        assertEquals("\tat io.github.crashagent.testapp.CrashApp.main(CrashApp.java:26)", lines.get(lines.size() - 1));

        assertEquals(CrashRecords.crashId(report), received.attribute("app.crash.id"));
        assertEquals(Long.toString(report.pid()), received.attribute("process.pid"));
        assertEquals(report.pid(), received.attributes().get("process.pid").getIntValue());
        assertEquals("main", received.attribute("thread.name"));
        assertEquals("linux", received.attribute("os.type"));
        assertEquals("OpenJDK 64-Bit Server VM 17.0.15+6-Debian-1deb12u1", received.attribute("process.runtime.description"));
        assertEquals("c6c4c11c64046c95", received.attribute("crashagent.signature"));
        assertEquals("/work/wt-java/agent/target/native-test/linux-x86_64/libcrashtest.so",
                received.attribute("crashagent.module"));
        String buildId = report.modules().stream().filter(m -> m.path().equals(report.event().module()))
                .findFirst().orElseThrow().buildId();
        assertTrue(buildId != null && buildId.matches("[0-9a-f]{40}"), buildId);
        assertEquals(buildId, received.attribute("crashagent.build_id"));
        assertEquals("io.github.crashagent.testapp.CrashNative.nullWrite()V", received.attribute("crashagent.native_method"));
        assertEquals(file.toString(), received.attribute("crashagent.report"));
        assertEquals("native", received.attribute("crashagent.origin"));

        // The application's context and breadcrumbs, as the crash found them.
        assertEquals("req-42", received.attribute("app.context.request"));
        assertEquals("input.bin", received.attribute("app.context.file"));
        List<String> breadcrumbs = received.attributes().get("crashagent.breadcrumbs").getArrayValue().getValuesList()
                .stream().map(v -> v.getStringValue()).toList();
        assertEquals(List.of(Instant.ofEpochMilli(1795279487000L) + " [main] opened input.bin",
                Instant.ofEpochMilli(1795279487100L) + " [worker-1] decoding frame 7"), breadcrumbs);
        List<String> nativeCalls = received.attributes().get("crashagent.native_calls").getArrayValue().getValuesList()
                .stream().map(v -> v.getStringValue()).toList();
        assertEquals(List.of("-56.942 ms io.github.crashagent.testapp.CrashNative.callA(I)I [1]",
                "-3.308 ms io.github.crashagent.testapp.CrashNative.nullWrite()V []"), nativeCalls);
    }

    @Test
    void theCrashIdIsStableAndDiffersBetweenCrashes() throws Exception {
        Path a = Reports.install(dir, "null-write", T0);
        Path b = Reports.install(dir, "null-write", T0);
        String idA = CrashRecords.crashId(CrashReport.read(a));
        assertEquals(idA, CrashRecords.crashId(CrashReport.read(a)));
        assertNotEquals(idA, CrashRecords.crashId(CrashReport.read(b)), "another pid, another crash");
        // computed independently: the name-based UUID of crashagent/<pid>/<timestamp_ms>/<signature>
        CrashReport read = CrashReport.read(a);
        assertEquals(java.util.UUID.nameUUIDFromBytes(("crashagent/" + read.pid() + "/" + T0 + "/c6c4c11c64046c95")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString(), idA);
    }

    @Test
    void aReportWithoutJavaStackHasTheNativeFramesOnly() throws Exception {
        Path file = Reports.install(dir, "own-thread", T0);
        CrashReport report = CrashReport.read(file);
        exporter().exportPending(sdk(collector.endpoint()), dir);
        String stack = collector.records.get(0).attribute("exception.stacktrace");
        assertEquals(1 + report.nativeFrames().size(), stack.lines().count(), stack);
        assertFalse(collector.records.get(0).attributes().containsKey("crashagent.native_method"));
    }

    @Test
    void aServerErrorLeavesTheReportPendingAndTheNextCallSendsIt() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        collector.status.set(500);
        CrashReportExporter.Summary first = exporter().exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(file), first.leftPending());
        assertEquals(List.of(), first.exported());
        assertEquals(List.of(file), pending());
        assertTrue(collector.requests.get() >= 1, "the export was tried");
        assertFalse(Files.exists(ReportClaim.claimFile(file)), "claim released");

        collector.status.set(200);
        CrashReportExporter.Summary second = exporter().exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(file), second.exported());
        assertEquals(List.of(), pending());
        assertEquals(1, collector.records.size());
    }

    @Test
    void connectionRefusedLeavesTheReportPendingAndTheNextCallSendsIt() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        CrashReportExporter.Summary first = exporter()
                .exportPending(sdk("http://127.0.0.1:" + closedPort() + "/v1/logs"), dir);
        assertEquals(List.of(file), first.leftPending());
        assertEquals(List.of(file), pending());

        CrashReportExporter.Summary second = exporter().exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(file), second.exported());
        assertEquals(List.of(), pending());
    }

    @Test
    void aFailureLeavesTheRestOfTheCallPending() throws Exception {
        Path older = Reports.install(dir, "null-write", T0);
        Path newer = Reports.install(dir, "own-thread", T0 + 1000);
        collector.status.set(503);
        CrashReportExporter.Summary summary = exporter().exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(newer, older), summary.leftPending());
        assertEquals(1, collector.requests.get(), "stops after the first failure");
    }

    private static List<java.util.logging.LogRecord> capturingWarnings(ThrowingRunnable action) throws Exception {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger("io.github.crashagent.opentelemetry");
        List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override public void publish(java.util.logging.LogRecord record) { records.add(record); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        logger.addHandler(handler);
        try {
            action.run();
        } finally {
            logger.removeHandler(handler);
        }
        return records;
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void aBadRequestIsAPermanentRefusalAcknowledgedWithAWarning() throws Exception {
        Path older = Reports.install(dir, "null-write", T0);
        Path newer = Reports.install(dir, "own-thread", T0 + 1000);
        collector.status.set(400);
        CrashReportExporter.Summary[] summary = new CrashReportExporter.Summary[1];
        List<java.util.logging.LogRecord> records = capturingWarnings(
                () -> summary[0] = exporter().exportPending(sdk(collector.endpoint()), dir));
        assertEquals(List.of(newer, older), summary[0].rejected(), "goes on after a refusal");
        assertEquals(List.of(), pending(), "acknowledged, so not tried first at every start");
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == java.util.logging.Level.WARNING
                && r.getMessage().contains("HTTP 400") && r.getMessage().contains(newer.toString())), records::toString);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {401, 403, 404})
    void anEndpointOrCredentialProblemLeavesTheReportsPendingWithAWarning(int status) throws Exception {
        Path older = Reports.install(dir, "null-write", T0);
        Path newer = Reports.install(dir, "own-thread", T0 + 1000);
        collector.status.set(status);
        CrashReportExporter.Summary[] summary = new CrashReportExporter.Summary[1];
        List<java.util.logging.LogRecord> records = capturingWarnings(
                () -> summary[0] = exporter().exportPending(sdk(collector.endpoint()), dir));
        assertEquals(List.of(newer, older), summary[0].leftPending());
        assertEquals(List.of(older, newer), pending());
        assertEquals(1, collector.requests.get(), "stops after the first failure");
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == java.util.logging.Level.WARNING
                && r.getMessage().contains("HTTP " + status) && r.getMessage().contains("endpoint")), records::toString);

        collector.status.set(200);
        assertEquals(List.of(newer, older), exporter().exportPending(sdk(collector.endpoint()), dir).exported());
        assertEquals(List.of(), pending());
    }

    @Test
    void aFailureWithoutAnHttpAnswerHasNoStatus() {
        assertEquals(DeliveryConfirmations.Delivery.NO_STATUS, ConfirmingLogRecordExporter.httpStatus(null));
        assertEquals(DeliveryConfirmations.Delivery.NO_STATUS,
                ConfirmingLogRecordExporter.httpStatus(new java.net.ConnectException("refused")));
    }

    @Test
    void anAcknowledgedReportIsNeverSentAgain() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        OpenTelemetrySdk sdk = sdk(collector.endpoint());
        assertEquals(List.of(file), exporter().exportPending(sdk, dir).exported());
        assertTrue(Files.exists(dir.resolve(file.getFileName() + CrashAgent.ACKNOWLEDGED_SUFFIX)));
        for (int i = 0; i < 2; i++) {
            CrashReportExporter.Summary again = exporter().exportPending(sdk, dir);
            assertEquals(List.of(), again.exported());
            assertEquals(List.of(), again.leftPending());
        }
        sdk.getSdkLoggerProvider().forceFlush().join(10, TimeUnit.SECONDS);
        assertEquals(1, collector.records.size());
    }

    @Test
    void atMostNReportsPerCallNewestFirst() throws Exception {
        Path oldest = Reports.install(dir, "null-write", T0);
        Path middle = Reports.install(dir, "own-thread", T0 + 1000);
        Path newest = Reports.install(dir, "null-write", T0 + 2000);
        CrashReportExporter.Summary summary = exporter().setMaxReportsPerStart(2)
                .exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(newest, middle), summary.exported());
        assertEquals(List.of(oldest), summary.leftPending());
        assertEquals(List.of(oldest), pending());
        assertEquals(List.of(newest.toString(), middle.toString()),
                collector.records.stream().map(r -> r.attribute("crashagent.report")).toList());
        assertEquals(CrashReportExporter.DEFAULT_MAX_REPORTS, new CrashReportExporter().getMaxReportsPerStart());

        CrashReportExporter.Summary none = exporter().setMaxReportsPerStart(0).exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(oldest), none.leftPending());
        assertEquals(2, collector.records.size());
    }

    @Test
    void withoutAConfirmingExporterNothingIsSentAndEverythingStaysPending() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        OpenTelemetrySdk plain = OtelTestSdk.create(collector.endpoint(), false);
        try {
            CrashReportExporter.Summary summary = exporter().exportPending(plain, dir);
            assertEquals(List.of(file), summary.leftPending());
            plain.getSdkLoggerProvider().forceFlush().join(10, TimeUnit.SECONDS);
        } finally {
            plain.shutdown().join(10, TimeUnit.SECONDS);
        }
        assertEquals(List.of(file), pending());
        assertEquals(0, collector.requests.get(), "nothing emitted that could not be acknowledged");
    }

    @Test
    void aFreshClaimOfAnotherProcessIsSkippedAndAStaleOneTakenOver() throws Exception {
        Path claimed = Reports.install(dir, "null-write", T0);
        Path abandoned = Reports.install(dir, "own-thread", T0 + 1000);
        Files.writeString(ReportClaim.claimFile(claimed), "1 other");
        Path stale = ReportClaim.claimFile(abandoned);
        Files.writeString(stale, "2 died");
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(Duration.ofHours(1))));

        CrashReportExporter.Summary summary = exporter().exportPending(sdk(collector.endpoint()), dir);
        assertEquals(List.of(abandoned), summary.exported());
        assertEquals(List.of(claimed), summary.skipped());
        assertEquals(List.of(claimed), pending());
        assertTrue(Files.exists(ReportClaim.claimFile(claimed)), "another's claim is left alone");
        assertFalse(Files.exists(stale));
    }

    /**
     * Why ConfirmingLogRecordExporter exists: the SDK's batch processor reports a successful flush
     * although the collector refused the export, so a flush result cannot acknowledge a report.
     * Should this ever fail, the SDK has begun to pass export failures on through forceFlush.
     */
    @Test
    void theSdksForceFlushSucceedsAlthoughTheExportFailed() throws Exception {
        collector.status.set(500);
        OpenTelemetrySdk plain = OtelTestSdk.create(collector.endpoint(), false);
        try {
            plain.getLogsBridge().get("test").logRecordBuilder().setBody("one").emit();
            io.opentelemetry.sdk.common.CompletableResultCode flush =
                    plain.getSdkLoggerProvider().forceFlush().join(10, TimeUnit.SECONDS);
            assertEquals(1, collector.requests.get(), "the export was tried and refused");
            assertTrue(flush.isSuccess());
        } finally {
            plain.shutdown().join(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        CrashReportExporter e = new CrashReportExporter();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.setMaxReportsPerStart(-1))
                .getMessage().contains("maxReportsPerStart"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.setExportTimeout(Duration.ZERO))
                .getMessage().contains("exportTimeout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.setStaleClaimAfter(Duration.ofSeconds(-1)))
                .getMessage().contains("staleClaimAfter"));
    }
}
