// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.ReportClaim;
import io.sentry.NoOpScopes;
import io.sentry.Sentry;
import io.sentry.SentryOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrashAgentIntegrationTest {
    private static final long T0 = 1_795_279_487_733L;

    @TempDir
    Path dir;
    private FakeSentry sentry;

    @BeforeEach
    void startServer() throws IOException {
        sentry = new FakeSentry();
    }

    @AfterEach
    void stopServer() {
        sentry.close();
    }

    private static SentryOptions options(String dsn) {
        SentryOptions options = new SentryOptions();
        options.setDsn(dsn);
        options.setRelease("app@1.2.3");
        options.setEnvironment("staging");
        options.setSendClientReports(false);
        options.setConnectionTimeoutMillis(2000);
        options.setReadTimeoutMillis(2000);
        return options;
    }

    /** Registers and waits, bounded, until the integration has handled every report it was going to. */
    private static CrashAgentIntegration.Summary run(CrashAgentIntegration integration, SentryOptions options)
            throws Exception {
        integration.register(NoOpScopes.getInstance(), options);
        return integration.lastRun().get(30, TimeUnit.SECONDS);
    }

    private List<Path> pending() throws IOException {
        List<Path> files = new ArrayList<>();
        for (CrashReport r : CrashAgent.pendingReports(dir)) {
            files.add(r.file());
        }
        return files;
    }

    /** Sentry's debug_id of a build-id, computed independently: the first 16 bytes as a little-endian GUID. */
    private static String expectedDebugId(String buildId) {
        ByteBuffer b = ByteBuffer.wrap(java.util.Arrays.copyOf(HexFormat.of().parseHex(buildId), 16));
        b.order(ByteOrder.LITTLE_ENDIAN);
        int d1 = b.getInt();
        short d2 = b.getShort();
        short d3 = b.getShort();
        b.order(ByteOrder.BIG_ENDIAN);
        long d4 = b.getLong();
        return new UUID(((long) d1 << 32) | ((d2 & 0xffffL) << 16) | (d3 & 0xffffL), d4).toString();
    }

    @Test
    void debugIdIsTheBuildIdsFirst16BytesAsALittleEndianGuid() {
        // the example pair of Relay's NativeDebugImage documentation
        assertEquals("e20a2268-5dc6-c165-b6aa-a12fa6765a6e",
                DebugIds.fromBuildId("68220ae2c65d65c1b6aaa12fa6765a6ec2f5f434"));
        assertEquals("03020100-0504-0706-0809-0a0b0c0d0e0f",
                DebugIds.fromBuildId("000102030405060708090a0b0c0d0e0f10111213"));
        // shorter build-ids are padded with zeros
        assertEquals("00000000-0000-0000-0000-000000000000", DebugIds.fromBuildId("00"));
        assertEquals("efbeadde-0000-0000-0000-000000000000", DebugIds.fromBuildId("deadbeef"));
        assertNull(DebugIds.fromBuildId(null));
        // PE: the symbol-server key <GUID><age> becomes the hyphenated GUID and the age, 0 left out
        assertEquals("0f5ae356-3076-dc88-ccea-38b7d2e846a8-1", DebugIds.fromPdbKey("0F5AE3563076DC88CCEA38B7D2E846A81"));
        assertEquals("0f5ae356-3076-dc88-ccea-38b7d2e846a8-1a", DebugIds.fromPdbKey("0F5AE3563076DC88CCEA38B7D2E846A81A"));
        assertEquals("0f5ae356-3076-dc88-ccea-38b7d2e846a8", DebugIds.fromPdbKey("0F5AE3563076DC88CCEA38B7D2E846A80"));
        assertNull(DebugIds.fromPdbKey("0F5AE356"));
        String buildId = "f194baaf8f0aa49c2e6ec99917d9df4caa7904a5";
        assertEquals(expectedDebugId(buildId), DebugIds.fromBuildId(buildId));
    }

    @Test
    void sendsAPendingReportAsOneFatalNativeEventThroughSentryInit() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        CrashReport report = CrashReport.read(file);
        CrashAgentIntegration integration = new CrashAgentIntegration(dir);
        Sentry.init(options -> {
            options.setDsn(sentry.dsn());
            options.setRelease("app@1.2.3");
            options.setEnvironment("staging");
            options.setSendClientReports(false);
            options.addIntegration(integration);
        });
        CrashAgentIntegration.Summary summary;
        try {
            summary = integration.lastRun().get(30, TimeUnit.SECONDS);
        } finally {
            Sentry.close();
        }
        assertEquals(List.of(file), summary.sent());
        assertEquals(List.of(), pending(), "acknowledged after delivery");
        assertEquals(1, sentry.events().size());
        FakeSentry.Envelope envelope = sentry.events().get(0);
        JsonNode event = envelope.event().json();
        assertEquals(event.path("event_id").asText(), envelope.header().path("event_id").asText());

        assertEquals("fatal", event.path("level").asText());
        assertEquals("native", event.path("platform").asText());
        assertEquals(T0, Instant.parse(event.path("timestamp").asText()).toEpochMilli());
        assertEquals("c6c4c11c64046c95", event.path("fingerprint").path(0).asText());
        assertEquals(1, event.path("fingerprint").size());
        assertEquals("app@1.2.3", event.path("release").asText());
        assertEquals("staging", event.path("environment").asText());
        // CrashAgent.putContext and breadcrumb: a context of their own, and Sentry breadcrumbs
        assertEquals("req-42", event.at("/contexts/app_context/request").asText(), event::toPrettyString);
        assertEquals("input.bin", event.at("/contexts/app_context/file").asText());
        // sentry-java writes the list itself; the protocol also allows {"values": [...]}
        JsonNode crumbs = event.path("breadcrumbs").has("values") ? event.at("/breadcrumbs/values") : event.path("breadcrumbs");
        // the application's two, then the crashing thread's native calls (native-calls=), by time
        assertEquals(4, crumbs.size(), event::toPrettyString);
        assertEquals("opened input.bin", crumbs.get(0).path("message").asText());
        assertEquals("crashagent", crumbs.get(0).path("category").asText());
        assertEquals("worker-1", crumbs.get(1).at("/data/thread").asText());
        assertEquals(23, crumbs.get(1).at("/data/java_thread_id").asLong());
        assertEquals(1795279487100L, Instant.parse(crumbs.get(1).path("timestamp").asText()).toEpochMilli());
        assertEquals("io.github.crashagent.testapp.CrashNative.callA(I)I", crumbs.get(2).path("message").asText());
        assertEquals("crashagent.native_call", crumbs.get(2).path("category").asText());
        assertEquals(1, crumbs.get(2).at("/data/arguments/0").asLong(), event::toPrettyString);
        assertEquals(T0 - 57, Instant.parse(crumbs.get(2).path("timestamp").asText()).toEpochMilli());
        assertEquals("io.github.crashagent.testapp.CrashNative.nullWrite()V", crumbs.get(3).path("message").asText());

        JsonNode exceptions = event.path("exception").path("values");
        assertEquals(2, exceptions.size());
        JsonNode crash = exceptions.get(1);
        assertEquals("SIGSEGV", crash.path("type").asText());
        assertEquals("null pointer dereference (write)", crash.path("value").asText());
        JsonNode mechanism = crash.path("mechanism");
        assertEquals("signalhandler", mechanism.path("type").asText());
        assertFalse(mechanism.path("handled").asBoolean(true));
        assertEquals(11, mechanism.path("meta").path("signal").path("number").asInt());
        assertEquals("SIGSEGV", mechanism.path("meta").path("signal").path("name").asText());
        assertEquals("SEGV_MAPERR", mechanism.path("meta").path("signal").path("code_name").asText());

        // native frames oldest first: the report's innermost frame is the last one
        JsonNode frames = crash.path("stacktrace").path("frames");
        List<CrashReport.NativeFrame> reportFrames = report.nativeFrames();
        assertEquals(reportFrames.size(), frames.size());
        for (int i = 0; i < reportFrames.size(); i++) {
            CrashReport.NativeFrame expected = reportFrames.get(reportFrames.size() - 1 - i);
            JsonNode frame = frames.get(i);
            assertEquals("0x" + Long.toHexString(expected.pc()), frame.path("instruction_addr").asText());
            if (expected.module() != null) {
                assertEquals(expected.module(), frame.path("package").asText());
            }
            if (expected.symbol() != null) {
                assertEquals(expected.symbol(), frame.path("function").asText());
            }
        }
        JsonNode crashFrame = frames.get(frames.size() - 1);
        assertEquals("0x7f75d441c13a", crashFrame.path("instruction_addr").asText());
        assertEquals("_ZN12_GLOBAL__N_118write_through_nullEi", crashFrame.path("function").asText());
        assertEquals("/work/wt-java/agent/target/native-test/linux-x86_64/libcrashtest.so",
                crashFrame.path("package").asText());
        assertEquals("0x7f75d441b000", crashFrame.path("image_addr").asText());

        // the Java stack, oldest first, in the first exception
        JsonNode javaFrames = exceptions.get(0).path("stacktrace").path("frames");
        assertEquals(3, javaFrames.size());
        assertEquals("main", javaFrames.get(0).path("function").asText());
        assertEquals("io.github.crashagent.testapp.CrashNative", javaFrames.get(2).path("module").asText());
        assertEquals("nullWrite", javaFrames.get(2).path("function").asText());
        assertEquals("JavaStack", exceptions.get(0).path("type").asText());

        // one debug image per module, with code_id = build-id and Sentry's debug_id
        JsonNode images = event.path("debug_meta").path("images");
        assertEquals(report.modules().size(), images.size());
        for (int i = 0; i < images.size(); i++) {
            CrashReport.Module module = report.modules().get(i);
            JsonNode image = images.get(i);
            assertEquals("elf", image.path("type").asText());
            assertEquals(module.path(), image.path("code_file").asText());
            assertEquals("0x" + Long.toHexString(module.base()), image.path("image_addr").asText());
            assertEquals(module.end() - module.base(), image.path("image_size").asLong());
            if (module.buildId() == null) {
                assertTrue(image.path("code_id").isMissingNode() || image.path("code_id").isNull());
            } else {
                assertEquals(module.buildId(), image.path("code_id").asText());
                assertEquals(expectedDebugId(module.buildId()), image.path("debug_id").asText());
            }
        }
        assertTrue(report.modules().stream().anyMatch(m -> m.buildId() != null));

        JsonNode tags = event.path("tags");
        assertEquals("c6c4c11c64046c95", tags.path("crashagent.signature").asText());
        assertEquals("io.github.crashagent.testapp.CrashNative.nullWrite()V",
                tags.path("crashagent.native_method").asText());
        JsonNode contexts = event.path("contexts");
        assertEquals(report.pid(), contexts.path("crashagent").path("pid").asLong());
        assertEquals("main", contexts.path("crashagent").path("thread_name").asText());
        assertEquals("Linux", contexts.path("os").path("name").asText());
        assertEquals("OpenJDK 64-Bit Server VM 17.0.15+6-Debian-1deb12u1", contexts.path("runtime").path("version").asText());
        assertEquals("main", event.path("threads").path("values").path(0).path("name").asText());
        assertTrue(event.path("threads").path("values").path(0).path("crashed").asBoolean());

        Map<String, FakeSentry.Item> attachments = envelope.attachments();
        long pid = report.pid();
        assertEquals("crashagent log of pid " + pid + "\n", attachments.get("crashagent_pid" + pid + ".log").text());
        assertTrue(attachments.get("hs_err_pid" + pid + ".log").text().startsWith("# A fatal error"));
    }

    @Test
    void sentryCloseWaitsForTheReportsBeingSent() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        CrashAgentIntegration integration = new CrashAgentIntegration(dir);
        Sentry.init(options -> {
            options.setDsn(sentry.dsn());
            options.setSendClientReports(false);
            options.setShutdownTimeoutMillis(20_000);
            options.addIntegration(integration);
        });
        Sentry.close();
        assertTrue(integration.lastRun().isDone());
        assertEquals(List.of(file), integration.lastRun().get().sent());
    }

    @Test
    void windowsReportsHaveTheExceptionCodeAndPeImages() throws Exception {
        Reports.install(dir, "null-write", T0, r -> {
            r.put("platform", "windows-x86_64");
            ObjectNode crash = (ObjectNode) r.get("crash");
            crash.put("kind", "EXCEPTION_ACCESS_VIOLATION");
            crash.put("code", 0xC0000005L);
            crash.putNull("detail");
            crash.put("diagnosis", "null pointer dereference (write)");
            r.get("modules").forEach(m -> ((ObjectNode) m).putNull("build_id").put("code_id", "6B0F3B1D60000"));
            ((ObjectNode) r.get("modules").get(0)).put("pdb_name", "crashlib.pdb")
                    .put("debug_id", "0F5AE3563076DC88CCEA38B7D2E846A81");
        });
        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(1, summary.sent().size());
        JsonNode event = sentry.events().get(0).event().json();
        JsonNode crash = event.path("exception").path("values").path(1);
        assertEquals("EXCEPTION_ACCESS_VIOLATION", crash.path("type").asText());
        assertEquals("UnhandledExceptionFilter", crash.path("mechanism").path("type").asText());
        assertEquals("0xc0000005", crash.path("mechanism").path("data").path("exception_code").asText());
        assertEquals("Windows", event.path("contexts").path("os").path("name").asText());
        JsonNode image = event.path("debug_meta").path("images").path(0);
        assertEquals("pe", image.path("type").asText());
        assertEquals("6B0F3B1D60000", image.path("code_id").asText());
        assertEquals("0f5ae356-3076-dc88-ccea-38b7d2e846a8-1", image.path("debug_id").asText());
        assertEquals("crashlib.pdb", image.path("debug_file").asText());
        JsonNode noCodeView = event.path("debug_meta").path("images").path(1);
        assertEquals("6B0F3B1D60000", noCodeView.path("code_id").asText());
        assertTrue(noCodeView.path("debug_id").isMissingNode());
    }

    @Test
    void imagesOfLinuxReportsCarryTheirArchitecture() throws Exception {
        Reports.install(dir, "null-write", T0);
        Reports.install(dir, "null-write", T0 + 1000, r -> r.put("platform", "linux-aarch64"));
        run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(2, sentry.events().size());
        List<String> arches = new java.util.ArrayList<>();
        for (var envelope : sentry.events()) {
            JsonNode event = envelope.event().json();
            String platform = event.path("contexts").path("crashagent").path("platform").asText();
            String arch = event.path("debug_meta").path("images").path(0).path("arch").asText();
            arches.add(platform + " " + arch);
        }
        java.util.Collections.sort(arches);
        assertEquals(List.of("linux-aarch64 arm64", "linux-x86_64 x86_64"), arches);
    }

    @Test
    void valueIsTheKindWithoutADiagnosis() throws Exception {
        Reports.install(dir, "null-write", T0, r -> ((ObjectNode) r.get("crash")).remove("diagnosis"));
        run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        JsonNode crash = sentry.events().get(0).event().json().path("exception").path("values").path(1);
        assertEquals("SIGSEGV", crash.path("value").asText());
    }

    @Test
    void largeAttachmentsAreCutWithAMarker() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        long pid = Reports.pidOf(file);
        byte[] big = new byte[CrashAgentIntegration.MAX_ATTACHMENT_BYTES + 500_000];
        java.util.Arrays.fill(big, (byte) 'x');
        Files.write(dir.resolve("hs_err_pid" + pid + ".log"), big);
        run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        byte[] sent = sentry.events().get(0).attachments().get("hs_err_pid" + pid + ".log").payload();
        String tail = new String(sent, CrashAgentIntegration.MAX_ATTACHMENT_BYTES, sent.length
                - CrashAgentIntegration.MAX_ATTACHMENT_BYTES, StandardCharsets.UTF_8);
        assertEquals("\n[crashagent: truncated, the first " + CrashAgentIntegration.MAX_ATTACHMENT_BYTES + " of "
                + big.length + " bytes]\n", tail);
        assertEquals('x', sent[CrashAgentIntegration.MAX_ATTACHMENT_BYTES - 1]);
    }

    @Test
    void noHsErrFileMeansOnlyTheLogIsAttached() throws Exception {
        Path file = Reports.install(dir, "own-thread", T0);
        long pid = Reports.pidOf(file);
        Files.delete(dir.resolve("hs_err_pid" + pid + ".log"));
        run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of("crashagent_pid" + pid + ".log"),
                new ArrayList<>(sentry.events().get(0).attachments().keySet()));
        // own-thread has no Java stack: the native exception alone
        assertEquals(1, sentry.events().get(0).event().json().path("exception").path("values").size());
    }

    @Test
    void serverErrorLeavesTheReportPendingAndTheNextStartSendsIt() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        sentry.status.set(500);
        CrashAgentIntegration.Summary first = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(file), first.leftPending());
        assertEquals(List.of(file), pending());
        assertFalse(Files.exists(ReportClaim.claimFile(file)), "claim released");

        sentry.status.set(200);
        CrashAgentIntegration.Summary second = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(file), second.sent());
        assertEquals(List.of(), pending());
        assertEquals(2, sentry.events().size());
    }

    @Test
    void rateLimitLeavesTheReportPending() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        sentry.status.set(429);
        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(file), summary.leftPending());
        assertEquals(List.of(file), pending());
    }

    @Test
    void connectionRefusedLeavesTheReportPendingAndTheNextStartSendsIt() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        CrashAgentIntegration.Summary first = run(new CrashAgentIntegration(dir),
                options("http://key@127.0.0.1:" + closedPort + "/1"));
        assertEquals(List.of(file), first.leftPending());
        assertEquals(List.of(file), pending());

        CrashAgentIntegration.Summary second = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(file), second.sent());
        assertEquals(List.of(), pending());
    }

    @Test
    void aTimeoutLeavesTheReportPending() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        sentry.hold = hold;
        try {
            SentryOptions options = options(sentry.dsn());
            options.setReadTimeoutMillis(300);
            CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options);
            assertEquals(List.of(file), summary.leftPending());
            assertEquals(List.of(file), pending());
        } finally {
            hold.countDown();
            sentry.hold = null;
        }
    }

    @Test
    void aTransientFailureLeavesTheRestOfTheRunPending() throws Exception {
        Path older = Reports.install(dir, "null-write", T0);
        Path newer = Reports.install(dir, "own-thread", T0 + 1000);
        sentry.status.set(503);
        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(newer, older), summary.leftPending());
        assertEquals(1, sentry.requests.get(), "stops after the first failure");
    }

    @Test
    void permanentRejectionIsAcknowledgedWithAWarning() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        sentry.status.set(400);
        Logger logger = Logger.getLogger("io.github.crashagent.sentry");
        List<LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override public void publish(LogRecord record) { records.add(record); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        logger.addHandler(handler);
        try {
            CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
            assertEquals(List.of(file), summary.rejected());
        } finally {
            logger.removeHandler(handler);
        }
        assertEquals(List.of(), pending(), "acknowledged, so not resent at every start");
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.WARNING
                && r.getMessage().contains("HTTP 400") && r.getMessage().contains(file.toString())), records::toString);

        sentry.status.set(200);
        CrashAgentIntegration.Summary again = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(), again.sent());
        assertEquals(1, sentry.events().size());
    }

    private static List<LogRecord> captureWarnings(Runnable action) {
        Logger logger = Logger.getLogger("io.github.crashagent.sentry");
        List<LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override public void publish(LogRecord record) { records.add(record); }
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

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {401, 403})
    void aRefusedDsnLeavesTheReportsPendingWithAWarningNamingTheDsn(int status) throws Exception {
        Path older = Reports.install(dir, "null-write", T0);
        Path newer = Reports.install(dir, "own-thread", T0 + 1000);
        sentry.status.set(status);
        CrashAgentIntegration.Summary[] summary = new CrashAgentIntegration.Summary[1];
        List<LogRecord> records = captureWarnings(() -> {
            try {
                summary[0] = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        assertEquals(List.of(newer, older), summary[0].leftPending());
        assertEquals(List.of(older, newer), pending(), "nothing acknowledged");
        assertEquals(1, sentry.requests.get(), "stops after the first refusal");
        String expectedDsn = "http://key@127.0.0.1:" + java.net.URI.create(sentry.dsn()).getPort() + "/1";
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.WARNING
                && r.getMessage().contains("HTTP " + status) && r.getMessage().contains("DSN")
                && r.getMessage().contains(expectedDsn)), records::toString);

        sentry.status.set(200);
        CrashAgentIntegration.Summary fixed = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(newer, older), fixed.sent());
        assertEquals(List.of(), pending());
    }

    @Test
    void theDsnInAWarningShowsNoSecret() {
        assertEquals("https://abcd...@o1.ingest.sentry.io/42",
                CrashAgentIntegration.describeDsn("https://abcdef0123456789:secret@o1.ingest.sentry.io/42"));
        assertEquals("http://key@127.0.0.1:9000/1", CrashAgentIntegration.describeDsn("http://key@127.0.0.1:9000/1"));
        assertEquals("(not a valid URI)", CrashAgentIntegration.describeDsn("http://in valid"));
    }

    @Test
    void tooLargeIsSentAgainWithoutAttachments() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        sentry.nextStatuses.add(413);
        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(file), summary.sent());
        assertEquals(List.of(), pending());
        assertEquals(2, sentry.events().size());
        assertEquals(2, sentry.events().get(0).attachments().size(), "first try with the log and hs_err");
        assertEquals(Map.of(), sentry.events().get(1).attachments(), "second try: the event alone");
        assertEquals(sentry.events().get(0).event().json().path("event_id"),
                sentry.events().get(1).event().json().path("event_id"));
    }

    @Test
    void tooLargeEvenWithoutAttachmentsIsAPermanentRejection() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        sentry.status.set(413);
        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(file), summary.rejected());
        assertEquals(List.of(), pending());
        assertEquals(2, sentry.requests.get());
    }

    @Test
    void anAcknowledgedReportIsNeverSentAgain() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        assertEquals(List.of(file), run(new CrashAgentIntegration(dir), options(sentry.dsn())).sent());
        assertTrue(Files.exists(dir.resolve(file.getFileName() + CrashAgent.ACKNOWLEDGED_SUFFIX)));
        for (int i = 0; i < 2; i++) {
            CrashAgentIntegration.Summary again = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
            assertEquals(CrashAgentIntegration.Summary.NONE, again);
        }
        assertEquals(1, sentry.events().size());
    }

    @Test
    void atMostNReportsPerStartNewestFirst() throws Exception {
        Path oldest = Reports.install(dir, "null-write", T0);
        Path middle = Reports.install(dir, "own-thread", T0 + 1000);
        Path newest = Reports.install(dir, "null-write", T0 + 2000);
        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir, 2), options(sentry.dsn()));
        assertEquals(List.of(newest, middle), summary.sent());
        assertEquals(List.of(oldest), summary.leftPending());
        assertEquals(List.of(oldest), pending());
        List<String> sentReports = new ArrayList<>();
        for (FakeSentry.Envelope e : sentry.events()) {
            sentReports.add(e.event().json().path("contexts").path("crashagent").path("report").asText());
        }
        assertEquals(List.of(newest.toString(), middle.toString()), sentReports);
        assertEquals(CrashAgentIntegration.DEFAULT_MAX_REPORTS, new CrashAgentIntegration(dir).getMaxReportsPerStart());
    }

    @Test
    void twoIntegrationsStartedAtOnceSendEachReportOnce() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            files.add(Reports.install(dir, i % 2 == 0 ? "null-write" : "own-thread", T0 + i * 1000L));
        }
        CrashAgentIntegration a = new CrashAgentIntegration(dir);
        CrashAgentIntegration b = new CrashAgentIntegration(dir);
        a.register(NoOpScopes.getInstance(), options(sentry.dsn()));
        b.register(NoOpScopes.getInstance(), options(sentry.dsn()));
        CrashAgentIntegration.Summary sa = a.lastRun().get(30, TimeUnit.SECONDS);
        CrashAgentIntegration.Summary sb = b.lastRun().get(30, TimeUnit.SECONDS);

        Map<String, Integer> timesSent = new HashMap<>();
        for (FakeSentry.Envelope e : sentry.events()) {
            timesSent.merge(e.event().json().path("contexts").path("crashagent").path("report").asText(), 1, Integer::sum);
        }
        for (Path f : files) {
            assertEquals(1, timesSent.getOrDefault(f.toString(), 0), f + " sent once: " + timesSent);
        }
        assertEquals(files.size(), sa.sent().size() + sb.sent().size());
        assertEquals(List.of(), pending());
    }

    @Test
    void aFreshClaimOfAnotherProcessIsSkippedAndAStaleOneTakenOver() throws Exception {
        Path claimed = Reports.install(dir, "null-write", T0);
        Path abandoned = Reports.install(dir, "own-thread", T0 + 1000);
        Files.writeString(ReportClaim.claimFile(claimed), "1 other");
        Path stale = ReportClaim.claimFile(abandoned);
        Files.writeString(stale, "2 died");
        Files.setLastModifiedTime(stale, FileTime.from(Instant.now().minus(Duration.ofHours(1))));

        CrashAgentIntegration.Summary summary = run(new CrashAgentIntegration(dir), options(sentry.dsn()));
        assertEquals(List.of(abandoned), summary.sent());
        assertEquals(List.of(claimed), summary.skipped());
        assertEquals(List.of(claimed), pending());
        assertTrue(Files.exists(ReportClaim.claimFile(claimed)), "another's claim is left alone");
        assertFalse(Files.exists(stale));
    }

    @Test
    void withoutADsnNothingIsSent() throws Exception {
        Path file = Reports.install(dir, "null-write", T0);
        CrashAgentIntegration integration = new CrashAgentIntegration(dir);
        SentryOptions options = options(sentry.dsn());
        options.setDsn("");
        integration.register(NoOpScopes.getInstance(), options);
        assertEquals(CrashAgentIntegration.Summary.NONE, integration.lastRun().get(30, TimeUnit.SECONDS));
        assertEquals(List.of(file), pending());
        assertEquals(0, sentry.requests.get());
    }

    @Test
    void beforeSendCanChangeTheEvent() throws Exception {
        Reports.install(dir, "null-write", T0);
        SentryOptions options = options(sentry.dsn());
        options.setBeforeSend((event, hint) -> {
            event.setTag("scrubbed", "yes");
            return event;
        });
        run(new CrashAgentIntegration(dir), options);
        assertEquals("yes", sentry.events().get(0).event().json().path("tags").path("scrubbed").asText());
        assertNotNull(sentry.events().get(0).event().json().path("tags").path("crashagent.signature").textValue());
    }
}
