// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.ReportClaim;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.logs.LogRecordBuilder;
import io.opentelemetry.api.logs.Logger;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends the crash reports earlier processes left behind (see {@link CrashAgent#pendingReports()})
 * through the application's own OpenTelemetry SDK: each pending report becomes one log record with
 * the event name {@code app.crash}, severity {@code FATAL}, the crash time as its timestamp, the
 * {@code exception.*} attributes (the stack trace has the native frames, then the Java ones),
 * {@code app.crash.id}, the crashed process's {@code process.pid} and {@code crashagent.*}
 * attributes. Call it once at start, after the SDK is built:
 *
 * <pre>{@code
 * LogRecordExporter otlp = ConfirmingLogRecordExporter.wrap(OtlpHttpLogRecordExporter.getDefault());
 * OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
 *         .setLoggerProvider(SdkLoggerProvider.builder()
 *                 .addLogRecordProcessor(BatchLogRecordProcessor.builder(otlp).build()).build())
 *         .build();
 * new CrashReportExporter().exportPending(sdk);
 * }</pre>
 *
 * <p><b>Acknowledgement.</b> A report is acknowledged ({@link CrashAgent#acknowledge}) only when the
 * exporter wrapped by {@link ConfirmingLogRecordExporter} reports that the batch holding its record
 * was exported successfully. When the export fails (the collector answers an error or cannot be
 * reached) or does not finish within {@link #setExportTimeout export timeout}, the report stays
 * pending for the next start and so do the rest of this call's; 401, 403 and 404 add a warning
 * about the endpoint and credentials. An OTLP/HTTP 400 means the collector will never take the
 * record: the report is acknowledged with a warning. Without any confirming exporter in
 * the process nothing is sent and everything stays pending, with a warning saying what to add.
 *
 * <p><b>Limit.</b> At most {@link #setMaxReportsPerStart maxReportsPerStart} reports per call
 * ({@link #DEFAULT_MAX_REPORTS} unless set), newest first; the rest stay pending.
 *
 * <p><b>Several processes.</b> Before sending a report a process claims it ({@link ReportClaim}:
 * the file {@code <report>.sending}, created atomically); another process starting at the same time
 * skips it, so each report is sent once. A claim older than {@link ReportClaim#DEFAULT_STALE_AFTER}
 * (a process that died while sending) is taken over.
 *
 * <p>{@link #exportPending} blocks while it sends, at most about the export timeout per report; call
 * it on a thread of its own if start-up must not wait. Warnings go to the logger
 * {@code io.github.crashagent.opentelemetry} ({@link System.Logger}).
 */
public final class CrashReportExporter {
    /** Reports sent per call at most, unless set otherwise. */
    public static final int DEFAULT_MAX_REPORTS = 10;
    /** How long to wait for one record's export to finish, unless set otherwise. */
    public static final Duration DEFAULT_EXPORT_TIMEOUT = Duration.ofSeconds(30);
    /** The instrumentation scope of the records. */
    public static final String SCOPE_NAME = "io.github.crashagent";

    /** What one call did with the pending reports, by report file. */
    public record Summary(List<Path> exported, List<Path> rejected, List<Path> leftPending, List<Path> skipped) {
        public Summary {
            exported = List.copyOf(exported);
            rejected = List.copyOf(rejected);
            leftPending = List.copyOf(leftPending);
            skipped = List.copyOf(skipped);
        }
    }

    private static final System.Logger LOG = System.getLogger("io.github.crashagent.opentelemetry");

    private volatile int maxReportsPerStart = DEFAULT_MAX_REPORTS;
    private volatile Duration exportTimeout = DEFAULT_EXPORT_TIMEOUT;
    private volatile Duration staleClaim = ReportClaim.DEFAULT_STALE_AFTER;

    /** How many reports one call sends at most, newest first; the rest stay pending. */
    public CrashReportExporter setMaxReportsPerStart(int maxReportsPerStart) {
        if (maxReportsPerStart < 0) {
            throw new IllegalArgumentException("maxReportsPerStart must be 0 or more, not " + maxReportsPerStart);
        }
        this.maxReportsPerStart = maxReportsPerStart;
        return this;
    }

    public int getMaxReportsPerStart() {
        return maxReportsPerStart;
    }

    /** How long to wait for each record's export before leaving its report pending; {@link #DEFAULT_EXPORT_TIMEOUT} unless set. */
    public CrashReportExporter setExportTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("exportTimeout must be a positive duration, not " + timeout);
        }
        this.exportTimeout = timeout;
        return this;
    }

    /** Age after which a claim ({@code <report>.sending}) is taken to be abandoned; {@link ReportClaim#DEFAULT_STALE_AFTER} unless set. */
    public CrashReportExporter setStaleClaimAfter(Duration age) {
        if (age == null || age.isNegative()) {
            throw new IllegalArgumentException("staleClaimAfter must be zero or positive, not " + age);
        }
        this.staleClaim = age;
        return this;
    }

    /** Sends the pending reports of the agent's report directory ({@link CrashAgent#pendingReports()}). */
    public Summary exportPending(OpenTelemetry openTelemetry) throws IOException {
        Objects.requireNonNull(openTelemetry, "openTelemetry");
        return export(openTelemetry, CrashAgent.pendingReports());
    }

    /**
     * Sends the pending reports of a given directory ({@link CrashAgent#pendingReports(Path)}), with
     * or without the agent in this process.
     */
    public Summary exportPending(OpenTelemetry openTelemetry, Path reportDirectory) throws IOException {
        Objects.requireNonNull(openTelemetry, "openTelemetry");
        Objects.requireNonNull(reportDirectory, "reportDirectory");
        return export(openTelemetry, CrashAgent.pendingReports(reportDirectory));
    }

    private Summary export(OpenTelemetry openTelemetry, List<CrashReport> pending) throws IOException {
        List<Path> exported = new ArrayList<>();
        List<Path> rejected = new ArrayList<>();
        List<Path> left = new ArrayList<>();
        List<Path> skipped = new ArrayList<>();
        if (!pending.isEmpty() && !DeliveryConfirmations.anyExporter()) {
            LOG.log(System.Logger.Level.WARNING, pending.size() + " crash report(s) stay pending: no exporter "
                    + "confirms delivery. Wrap the SDK's log record exporter with "
                    // a name, not a class literal: without the SDK that class cannot be loaded
                    + "io.github.crashagent.opentelemetry.ConfirmingLogRecordExporter.wrap(...)");
            pending.forEach(r -> left.add(r.file()));
            return new Summary(exported, rejected, left, skipped);
        }
        Logger logger = openTelemetry.getLogsBridge().loggerBuilder(SCOPE_NAME).build();
        Map<CrashReport, ReportClaim.Fate> fates = ReportClaim.deliverPending(pending, maxReportsPerStart, staleClaim,
                report -> send(openTelemetry, logger, report));
        fates.forEach((report, fate) -> (switch (fate) {
            case DELIVERED -> exported;
            case REJECTED -> rejected;
            case LEFT -> left;
            case DROPPED, SKIPPED -> skipped;
        }).add(report.file()));
        return new Summary(exported, rejected, left, skipped);
    }

    private ReportClaim.Delivery send(OpenTelemetry openTelemetry, Logger logger, CrashReport report) {
        String id = CrashRecords.crashId(report);
        CompletableFuture<DeliveryConfirmations.Delivery> answer = DeliveryConfirmations.await(id);
        try {
            LogRecordBuilder record = logger.logRecordBuilder();
            CrashRecords.fill(record, report, id);
            record.emit();
            SdkFlush.request(openTelemetry);
            return outcome(report, answer.get(exportTimeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
            LOG.log(System.Logger.Level.INFO, "crash report " + report.file() + ": no exporter confirmed its record within "
                    + exportTimeout.toMillis() + " ms; it stays pending for the next start");
            return ReportClaim.Delivery.RETRY;
        } catch (ExecutionException e) {
            return ReportClaim.Delivery.RETRY;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ReportClaim.Delivery.RETRY;
        } finally {
            DeliveryConfirmations.forget(id, answer);
        }
    }

    /**
     * What the collector's answer means for the report. OTLP/HTTP says a 400 must not be retried:
     * the collector will never take that record, so the report is acknowledged, or it would be
     * tried first at every start and hold back the older ones. 401, 403 and 404 concern the
     * exporter's endpoint or credentials, not the record: every report would fail alike and a fixed
     * configuration takes them, so they stay pending, with a warning.
     */
    private static ReportClaim.Delivery outcome(CrashReport report, DeliveryConfirmations.Delivery delivery) {
        if (delivery.delivered()) {
            return ReportClaim.Delivery.DELIVERED;
        }
        int status = delivery.httpStatus();
        if (status == 400) {
            LOG.log(System.Logger.Level.WARNING, "crash report " + report.file() + ": the collector refused its record"
                    + " with HTTP 400, which a retry would not change; acknowledged so it is not sent again");
            return ReportClaim.Delivery.REJECTED;
        }
        if (status == 401 || status == 403 || status == 404) {
            LOG.log(System.Logger.Level.WARNING, "crash report " + report.file() + ": the collector answered HTTP "
                    + status + "; check the OTLP exporter's endpoint URL and its authentication headers."
                    + " The report stays pending for the next start");
            return ReportClaim.Delivery.RETRY;
        }
        LOG.log(System.Logger.Level.INFO, "crash report " + report.file() + ": the export failed"
                + (status == DeliveryConfirmations.Delivery.NO_STATUS ? "" : " with HTTP " + status)
                + "; it stays pending for the next start");
        return ReportClaim.Delivery.RETRY;
    }
}
