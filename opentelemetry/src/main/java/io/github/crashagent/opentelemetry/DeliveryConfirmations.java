// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where {@link ConfirmingLogRecordExporter}s tell {@link CrashReportExporter} whether the record of
 * a crash (by its {@code app.crash.id}) was delivered. Holds no OpenTelemetry SDK types, so the
 * exporter can ask it in an application that has the API alone.
 */
final class DeliveryConfirmations {
    private static final Map<String, CompletableFuture<Boolean>> AWAITING = new ConcurrentHashMap<>();
    private static final AtomicInteger LIVE_EXPORTERS = new AtomicInteger();

    private DeliveryConfirmations() {}

    /** Whether some confirming exporter exists that was not shut down: without one no delivery can be confirmed. */
    static boolean anyExporter() {
        return LIVE_EXPORTERS.get() > 0;
    }

    static void exporterStarted() {
        LIVE_EXPORTERS.incrementAndGet();
    }

    static void exporterStopped() {
        LIVE_EXPORTERS.decrementAndGet();
    }

    /** Starts waiting for the record of a crash: the future completes with true when an exporter delivered it. */
    static CompletableFuture<Boolean> await(String crashId) {
        CompletableFuture<Boolean> outcome = new CompletableFuture<>();
        AWAITING.put(crashId, outcome);
        return outcome;
    }

    static void forget(String crashId, CompletableFuture<Boolean> outcome) {
        AWAITING.remove(crashId, outcome);
    }

    /** The outcome awaited for a crash id, or null when nobody waits for it (a record from an earlier attempt). */
    static CompletableFuture<Boolean> awaiting(String crashId) {
        return AWAITING.get(crashId);
    }
}
