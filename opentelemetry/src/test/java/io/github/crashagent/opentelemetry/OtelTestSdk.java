// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.BatchLogRecordProcessor;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.resources.Resource;
import java.time.Duration;

/** The SDK as an application would set it up: OTLP/HTTP exporter, batch processor, a service name. */
final class OtelTestSdk {
    static final String SERVICE = "checkout";

    private OtelTestSdk() {}

    static OpenTelemetrySdk create(String endpoint, boolean confirming) {
        LogRecordExporter otlp = OtlpHttpLogRecordExporter.builder()
                .setEndpoint(endpoint)
                .setTimeout(Duration.ofSeconds(5))
                // The tests decide when to retry: the next call.
                .setRetryPolicy(null)
                .build();
        LogRecordExporter exporter = confirming ? ConfirmingLogRecordExporter.wrap(otlp) : otlp;
        return OpenTelemetrySdk.builder()
                .setLoggerProvider(SdkLoggerProvider.builder()
                        .setResource(Resource.getDefault().merge(Resource.create(
                                Attributes.of(AttributeKey.stringKey("service.name"), SERVICE))))
                        .addLogRecordProcessor(BatchLogRecordProcessor.builder(exporter).build())
                        .build())
                .build();
    }
}
