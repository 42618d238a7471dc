// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * A claim on one pending report while it is being sent somewhere (Sentry, an OpenTelemetry
 * collector, ...), so that of several processes starting at once against one report directory
 * only one sends it. The claim is the file {@code <report>.sending}, created atomically
 * (create-new) and holding a token of its taker; the others find it and skip the report.
 *
 * <p>A claim older than a given age (its process died while sending) may be taken over. After
 * {@link #take} succeeded, check {@link #isAcknowledged} again before sending: another process may
 * have sent and acknowledged the report between the listing and the claim.
 *
 * <pre>{@code
 * ReportClaim claim = ReportClaim.take(report.file(), ReportClaim.DEFAULT_STALE_AFTER);
 * if (claim != null) {
 *     try {
 *         if (!ReportClaim.isAcknowledged(report.file()) && send(report)) {
 *             CrashAgent.acknowledge(report);
 *         }
 *     } finally {
 *         claim.release();
 *     }
 * }
 * }</pre>
 */
public final class ReportClaim {
    /** Suffix of the claim file created next to a report while it is being sent. */
    public static final String SUFFIX = ".sending";
    /** Age after which a claim counts as abandoned unless the sender says otherwise, 10 minutes. */
    public static final Duration DEFAULT_STALE_AFTER = Duration.ofMinutes(10);

    private final Path file;
    private final String token;

    private ReportClaim(Path file, String token) {
        this.file = file;
        this.token = token;
    }

    /** The claim file of a report: {@code <report>.sending} next to it. */
    public static Path claimFile(Path report) {
        return report.resolveSibling(report.getFileName() + SUFFIX);
    }

    /** Whether the report carries the {@link CrashAgent#ACKNOWLEDGED_SUFFIX} marker (links not followed). */
    public static boolean isAcknowledged(Path report) {
        return Files.exists(CrashAgent.acknowledgedMarker(report), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Claims the report, or returns null when another process holds a claim younger than
     * staleAfter.
     *
     * @throws IOException when the claim file can be neither created nor found (directory not writable)
     */
    public static ReportClaim take(Path report, Duration staleAfter) throws IOException {
        Objects.requireNonNull(report, "report");
        if (staleAfter == null || staleAfter.isNegative()) {
            throw new IllegalArgumentException("staleAfter must be zero or positive: " + staleAfter);
        }
        Path file = claimFile(report);
        String token = ProcessHandle.current().pid() + " " + UUID.randomUUID();
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                Files.write(file, token.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                return new ReportClaim(file, token);
            } catch (FileAlreadyExistsException held) {
                if (!takeOverIfStale(file, staleAfter)) {
                    return null;
                }
            }
        }
        return null;
    }

    /**
     * Removes an abandoned claim. Renaming it aside is atomic, so of several processes that find
     * the same stale claim only one removes it. If a fresh claim replaced the stale one between the
     * age check and the rename, the renamed file is young: it is put back and the report left to
     * its holder.
     */
    private static boolean takeOverIfStale(Path file, Duration stale) throws IOException {
        try {
            if (!isStale(file, stale)) {
                return false;
            }
            Path aside = file.resolveSibling(file.getFileName() + ".stale-" + UUID.randomUUID());
            Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
            if (!isStale(aside, stale)) {
                try {
                    Files.move(aside, file, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.deleteIfExists(aside);
                }
                return false;
            }
            Files.deleteIfExists(aside);
            return true;
        } catch (NoSuchFileException released) {
            return true;  // the holder finished meanwhile: try to claim again
        }
    }

    private static boolean isStale(Path file, Duration stale) throws IOException {
        Instant modified = Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant();
        return !modified.plus(stale).isAfter(Instant.now());
    }

    /** Deletes the claim file if it is still this claim (not taken over by another process meanwhile). */
    public void release() {
        try {
            byte[] content = Files.readAllBytes(file);
            if (new String(content, StandardCharsets.UTF_8).equals(token)) {
                Files.deleteIfExists(file);
            }
        } catch (IOException ignored) {
            // gone already, or unreadable: nothing of ours to remove
        }
    }

    /** How one attempt to send a report ended, as an integration's sender says. */
    public enum Delivery {
        /** The destination took it: acknowledged. */
        DELIVERED,
        /** The application chose not to send it (a filter dropped it): acknowledged. */
        DROPPED,
        /** The destination will never take it: acknowledged, so it is not sent at every start. */
        REJECTED,
        /** It may go through later: it stays pending, and so do the reports after it. */
        RETRY
    }

    /** What {@link #deliverPending} did with a report. */
    public enum Fate { DELIVERED, DROPPED, REJECTED, LEFT, SKIPPED }

    /** Sends one claimed report. */
    @FunctionalInterface
    public interface Sender {
        Delivery send(CrashReport report) throws IOException;
    }

    /**
     * The sending loop both integrations run: newest report first, at most {@code maxAttempts}
     * sent; each claimed first and skipped when another process has it or has acknowledged it;
     * acknowledged when delivered, dropped or rejected. The first {@link Delivery#RETRY} leaves it
     * and every later report pending (the destination is likely down for all of them).
     *
     * @return every report's fate, in the order they were considered (newest first)
     */
    public static Map<CrashReport, Fate> deliverPending(List<CrashReport> reports, int maxAttempts,
                                                        Duration staleAfter, Sender sender) throws IOException {
        List<CrashReport> pending = new ArrayList<>(reports);
        pending.sort(Comparator.comparing(CrashReport::timestamp)
                .thenComparing(r -> r.file().toString()).reversed());
        Map<CrashReport, Fate> fates = new LinkedHashMap<>();
        int attempts = 0;
        boolean stop = false;
        for (CrashReport report : pending) {
            if (stop || attempts >= maxAttempts) {
                fates.put(report, Fate.LEFT);
                continue;
            }
            ReportClaim claim = take(report.file(), staleAfter);
            if (claim == null) {
                fates.put(report, Fate.SKIPPED);  // another process is sending it
                continue;
            }
            try {
                if (isAcknowledged(report.file())) {
                    fates.put(report, Fate.SKIPPED);  // sent by another process since the listing
                    continue;
                }
                attempts++;
                Delivery delivery = sender.send(report);
                if (delivery == Delivery.RETRY) {
                    fates.put(report, Fate.LEFT);
                    stop = true;
                } else {
                    CrashAgent.acknowledge(report);
                    fates.put(report, Fate.valueOf(delivery.name()));
                }
            } finally {
                claim.release();
            }
        }
        return fates;
    }
}
