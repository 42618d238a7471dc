// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import io.github.crashagent.opentelemetry.ConfirmingLogRecordExporter;
import io.github.crashagent.opentelemetry.CrashReportExporter;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.BatchLogRecordProcessor;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.resources.Resource;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Sends the crash reports earlier runs left behind to an OpenTelemetry Collector over OTLP/HTTP,
 * the way an application does it at start: its SDK, with the log record exporter wrapped in
 * {@link ConfirmingLogRecordExporter}, then {@link CrashReportExporter#exportPending}. The endpoint
 * comes from {@code OTEL_EXPORTER_OTLP_LOGS_ENDPOINT} (the full URL) or
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT} (the base URL, {@code /v1/logs} is added), default
 * {@code http://localhost:4318}; the service name from {@code OTEL_SERVICE_NAME}. The reports come
 * from the agent's report directory, or from {@code CRASHAGENT_REPORT_DIR} (or the property
 * {@code crashagent.reportDir}) when run without the agent. See docs/java-api.md, "OpenTelemetry".
 */
public final class OpenTelemetrySample {
    private OpenTelemetrySample() {}

    public static void main(String[] args) throws Exception {
        String endpoint = logsEndpoint();
        String service = SampleSettings.setting("OTEL_SERVICE_NAME", "otel.service.name");
        LogRecordExporter otlp = ConfirmingLogRecordExporter.wrap(
                OtlpHttpLogRecordExporter.builder().setEndpoint(endpoint).build());
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setLoggerProvider(SdkLoggerProvider.builder()
                        .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
                                AttributeKey.stringKey("service.name"),
                                service != null ? service : "crashagent-sample"))))
                        .addLogRecordProcessor(BatchLogRecordProcessor.builder(otlp).build())
                        .build())
                .build();
        try {
            Path dir = SampleSettings.reportDirectory();
            CrashReportExporter exporter = new CrashReportExporter();
            CrashReportExporter.Summary summary = dir == null ? exporter.exportPending(sdk)
                    : exporter.exportPending(sdk, dir);
            System.out.println("exported " + summary.exported().size() + " to " + endpoint + ", left pending "
                    + summary.leftPending().size() + ", skipped " + summary.skipped().size());
            summary.exported().forEach(f -> System.out.println("exported " + f));
        } finally {
            sdk.shutdown().join(10, TimeUnit.SECONDS);
        }
    }

    static String logsEndpoint() {
        String logs = System.getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
        if (logs != null && !logs.isBlank()) {
            return logs;
        }
        String base = System.getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (base == null || base.isBlank()) {
            base = "http://localhost:4318";
        }
        return base.endsWith("/") ? base + "v1/logs" : base + "/v1/logs";
    }
}
