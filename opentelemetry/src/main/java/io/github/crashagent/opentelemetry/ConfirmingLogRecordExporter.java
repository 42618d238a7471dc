// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.HttpResponse;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Wraps the application's log record exporter (usually the OTLP one) so that
 * {@link CrashReportExporter} learns whether each crash record was delivered, and acknowledges a
 * report only then. Records pass through unchanged; for a batch that holds a crash record the
 * wrapper watches the delegate's {@link CompletableResultCode}.
 *
 * <p>Why a wrapper: the SDK's processors do not pass an export's failure on. The batch processor's
 * {@code forceFlush()} succeeds once it has tried to export, whatever the exporter answered, and the
 * simple processor's only covers exports still running. The exporter's own result is the one
 * place that says whether the collector took the records.
 *
 * <pre>{@code
 * LogRecordExporter otlp = ConfirmingLogRecordExporter.wrap(OtlpHttpLogRecordExporter.builder()
 *         .setEndpoint("http://collector:4318/v1/logs").build());
 * SdkLoggerProvider logs = SdkLoggerProvider.builder()
 *         .addLogRecordProcessor(BatchLogRecordProcessor.builder(otlp).build())
 *         .build();
 * }</pre>
 *
 * With SDK autoconfiguration: {@code AutoConfiguredOpenTelemetrySdk.builder()
 * .addLogRecordExporterCustomizer((exporter, config) -> ConfirmingLogRecordExporter.wrap(exporter))}.
 */
public final class ConfirmingLogRecordExporter implements LogRecordExporter {
    static final AttributeKey<String> CRASH_ID = AttributeKey.stringKey(CrashRecords.CRASH_ID);

    private final LogRecordExporter delegate;
    private final AtomicBoolean stopped = new AtomicBoolean();

    private ConfirmingLogRecordExporter(LogRecordExporter delegate) {
        this.delegate = delegate;
        DeliveryConfirmations.exporterStarted();
    }

    /** The exporter, reporting to {@link CrashReportExporter} whether crash records were delivered. */
    public static LogRecordExporter wrap(LogRecordExporter delegate) {
        Objects.requireNonNull(delegate, "delegate");
        if (delegate instanceof ConfirmingLogRecordExporter) {
            return delegate;
        }
        return new ConfirmingLogRecordExporter(delegate);
    }

    @Override
    public CompletableResultCode export(Collection<LogRecordData> logs) {
        List<CompletableFuture<DeliveryConfirmations.Delivery>> watched = new ArrayList<>();
        for (LogRecordData log : logs) {
            String id = log.getAttributes().get(CRASH_ID);
            if (id != null) {
                CompletableFuture<DeliveryConfirmations.Delivery> outcome = DeliveryConfirmations.awaiting(id);
                if (outcome != null) {
                    watched.add(outcome);
                }
            }
        }
        CompletableResultCode result;
        try {
            result = delegate.export(logs);
        } catch (RuntimeException | Error e) {
            DeliveryConfirmations.Delivery failed = new DeliveryConfirmations.Delivery(false,
                    DeliveryConfirmations.Delivery.NO_STATUS);
            watched.forEach(w -> w.complete(failed));
            throw e;
        }
        if (!watched.isEmpty()) {
            result.whenComplete(() -> {
                DeliveryConfirmations.Delivery delivery = result.isSuccess()
                        ? new DeliveryConfirmations.Delivery(true, DeliveryConfirmations.Delivery.NO_STATUS)
                        : new DeliveryConfirmations.Delivery(false, httpStatus(result.getFailureThrowable()));
                watched.forEach(w -> w.complete(delivery));
            });
        }
        return result;
    }

    /**
     * The HTTP status of a failed OTLP/HTTP export, or {@link DeliveryConfirmations.Delivery#NO_STATUS}.
     * The OTLP exporters fail the result with an exception whose {@code getResponse()} returns the
     * public {@link HttpResponse}; that exception's class is internal to the SDK
     * ({@code io.opentelemetry.exporter.internal.FailedExportException}), so it is looked up by
     * name here rather than compiled against. Should it change, every failure counts as one
     * without a status: the report stays pending, which is the safe side.
     */
    static int httpStatus(Throwable failure) {
        if (failure == null) {
            return DeliveryConfirmations.Delivery.NO_STATUS;
        }
        try {
            Method getResponse = failure.getClass().getMethod("getResponse");
            Object response = getResponse.invoke(failure);
            if (response instanceof HttpResponse) {
                return ((HttpResponse) response).getStatusCode();
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError notAnOtlpHttpFailure) {
            // no status to tell
        }
        return DeliveryConfirmations.Delivery.NO_STATUS;
    }

    @Override
    public CompletableResultCode flush() {
        return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
        if (stopped.compareAndSet(false, true)) {
            DeliveryConfirmations.exporterStopped();
        }
        return delegate.shutdown();
    }

    @Override
    public String toString() {
        return "ConfirmingLogRecordExporter{" + delegate + "}";
    }
}
