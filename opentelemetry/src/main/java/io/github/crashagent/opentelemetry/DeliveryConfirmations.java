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
    /**
     * What an exporter answered for a record: delivered, or not with the HTTP status the
     * collector answered ({@link #NO_STATUS} when there was none: no connection, timeout, gRPC).
     */
    record Delivery(boolean delivered, int httpStatus) {
        static final int NO_STATUS = -1;
    }

    private static final Map<String, CompletableFuture<Delivery>> AWAITING = new ConcurrentHashMap<>();
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

    /** Starts waiting for the record of a crash: the future completes with the first answer of an exporter that exported it. */
    static CompletableFuture<Delivery> await(String crashId) {
        CompletableFuture<Delivery> outcome = new CompletableFuture<>();
        AWAITING.put(crashId, outcome);
        return outcome;
    }

    static void forget(String crashId, CompletableFuture<Delivery> outcome) {
        AWAITING.remove(crashId, outcome);
    }

    /** The outcome awaited for a crash id, or null when nobody waits for it (a record from an earlier attempt). */
    static CompletableFuture<Delivery> awaiting(String crashId) {
        return AWAITING.get(crashId);
    }
}
