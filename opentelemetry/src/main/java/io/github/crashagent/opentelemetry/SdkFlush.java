// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;

/**
 * Asks the SDK's logger provider to export its queued records now rather than at the batch
 * processor's next scheduled export. Its result is not a delivery signal (see
 * {@link ConfirmingLogRecordExporter}); only the time saved matters here. A class of its own so
 * that an application with the OpenTelemetry API alone never loads the SDK types.
 */
final class SdkFlush {
    private SdkFlush() {}

    static void request(OpenTelemetry openTelemetry) {
        try {
            if (openTelemetry instanceof OpenTelemetrySdk) {
                ((OpenTelemetrySdk) openTelemetry).getSdkLoggerProvider().forceFlush();
            }
        } catch (LinkageError noSdk) {
            // API only: the batch processor exports on its schedule
        }
    }
}
