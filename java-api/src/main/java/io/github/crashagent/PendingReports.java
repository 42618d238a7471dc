// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The work behind {@link CrashAgent#pendingReports()} and {@link CrashAgent#acknowledge}. A class of its own so that what it needs
 * (Jackson through {@link CrashReport}, {@link PendingRules} with its regex and
 * {@code java.management}, a logger) is loaded only
 * by applications that read reports, never by {@link CrashAgent}'s initialization or its listeners.
 */
final class PendingReports {
    private static final Comparator<CrashReport> OLDEST_FIRST =
            Comparator.comparing(CrashReport::timestamp).thenComparing(r -> r.file().toString());

    private PendingReports() {}

    /** Pending reports of dir, plus those in fallback that were meant for dir. */
    static List<CrashReport> inReportDirectory(Path dir, Optional<Path> fallback) throws IOException {
        PendingRules rules = PendingRules.current();
        List<CrashReport> pending = new ArrayList<>(in(dir, rules));
        if (fallback.isPresent() && !sameDirectory(fallback.get(), dir)) {
            try {
                for (CrashReport report : in(fallback.get(), rules)) {
                    if (report.reportDirectory() != null && sameDirectory(report.reportDirectory(), dir)) {
                        pending.add(report);
                    }
                }
            } catch (IOException e) {
                warn("cannot list the fallback report directory " + fallback.get() + ": " + e);
            }
        }
        pending.sort(OLDEST_FIRST);
        return List.copyOf(pending);
    }

    static List<CrashReport> in(Path directory, PendingRules rules) throws IOException {
        List<CrashReport> pending = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory,
                p -> rules.isReportName(p.getFileName().toString()))) {
            for (Path file : files) {
                if (Files.exists(CrashAgent.acknowledgedMarker(file))) {
                    continue;
                }
                CrashReport report;
                try {
                    report = CrashReport.read(file);
                } catch (NoSuchFileException raced) {
                    continue;
                } catch (IOException e) {
                    warn("skipping unreadable crash report: " + e.getMessage());
                    continue;
                }
                if (rules.processGone(report.pid(), report.timestamp())) {
                    pending.add(report);
                }
            }
        }
        pending.sort(OLDEST_FIRST);
        return List.copyOf(pending);
    }

    /** See {@link CrashAgent#acknowledge}. */
    static void acknowledge(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "the report to acknowledge does not exist");
        }
        try {
            Files.write(CrashAgent.acknowledgedMarker(file), new byte[0], StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException alreadyAcknowledged) {
            // acknowledged before, maybe by another process: nothing to do
        }
    }

    private static boolean sameDirectory(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }

    // The logger is looked up only when there is something to say: System.getLogger starts the
    // logging backend (java.logging by default), which costs milliseconds.
    private static void warn(String message) {
        System.getLogger("io.github.crashagent").log(System.Logger.Level.WARNING, message);
    }
}
