// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.StringJoiner;

/**
 * The work behind {@link CrashAgent#pendingReports()} and {@link CrashAgent#acknowledge}. A class of its own so that what it needs
 * (Jackson through {@link CrashReport}, {@link PendingRules} with its regex and
 * {@code java.management}, a logger) is loaded only
 * by applications that read reports, never by {@link CrashAgent}'s initialization or its listeners.
 */
final class PendingReports {
    private static final Comparator<CrashReport> OLDEST_FIRST =
            Comparator.comparing(CrashReport::timestamp).thenComparing(r -> r.file().toString());

    /**
     * Report files read (opened and parsed) per call at most. Listing and checking a file's
     * attributes costs microseconds; reading one up to {@link CrashReport#MAX_FILE_SIZE} costs up
     * to milliseconds, so this bounds a call at seconds whatever the directories hold. A real
     * report directory has far fewer unacknowledged reports. Beyond it the newest files wait for
     * a later call, and the summary warning says how many.
     */
    static final int MAX_FILES_READ = 1000;

    private PendingReports() {}

    /** Pending reports of dir, plus those in fallback that were meant for dir. */
    static List<CrashReport> inReportDirectory(Path dir, Optional<Path> fallback) throws IOException {
        return inReportDirectory(dir, fallback, PendingRules.current(), ReportFileReader.STANDARD);
    }

    static List<CrashReport> inReportDirectory(Path dir, Optional<Path> fallback, PendingRules rules,
                                               ReportFileReader reader) throws IOException {
        Scan scan = new Scan(rules, reader);
        scan.list(dir, null);
        if (fallback.isPresent() && !sameDirectory(fallback.get(), dir)) {
            try {
                scan.list(fallback.get(), dir);
            } catch (IOException e) {
                scan.unlisted = "could not list the temp directory " + fallback.get() + ": " + e;
            }
        }
        return scan.finish();
    }

    static List<CrashReport> in(Path directory, PendingRules rules) throws IOException {
        return in(directory, rules, ReportFileReader.STANDARD);
    }

    static List<CrashReport> in(Path directory, PendingRules rules, ReportFileReader reader) throws IOException {
        Scan scan = new Scan(rules, reader);
        scan.list(directory, null);
        return scan.finish();
    }

    /**
     * One call's work: list the directories, check each report-named file by its attributes alone,
     * read at most {@link #MAX_FILES_READ} of those that pass, oldest first, and say once what was
     * skipped.
     */
    private static final class Scan {
        private record Candidate(Path file, FileTime modified, Path meantFor) {}

        private static final Comparator<Candidate> NEWEST_FIRST = Comparator.comparing(Candidate::modified)
                .thenComparing(c -> c.file().toString()).reversed();

        private final PendingRules rules;
        private final ReportFileReader reader;
        // The newest at the head, so that the newest is dropped when there are too many.
        private final PriorityQueue<Candidate> candidates = new PriorityQueue<>(NEWEST_FIRST);
        private final Map<String, Integer> skipped = new LinkedHashMap<>();
        private final Map<String, String> firstSkipped = new LinkedHashMap<>();
        private int notRead;
        String unlisted;

        Scan(PendingRules rules, ReportFileReader reader) {
            this.rules = rules;
            this.reader = reader;
        }

        /** Collects directory's report files; meantFor is the report directory when directory is the temp directory. */
        void list(Path directory, Path meantFor) throws IOException {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(directory,
                    p -> rules.isReportName(p.getFileName().toString()))) {
                for (Path file : files) {
                    ReportFileReader.Attributes attributes;
                    try {
                        attributes = ReportFileReader.Attributes.of(file, true);
                    } catch (NoSuchFileException raced) {
                        continue;
                    } catch (IOException e) {
                        skip("could not be read", "crash report " + file + ": " + e);
                        continue;
                    }
                    if (meantFor != null && !Objects.equals(attributes.owner,
                            ReportFileReader.CurrentUser.of(file.getFileSystem()))) {
                        continue;  // the temp directory is shared: another user's file is theirs, not junk to warn about
                    }
                    if (ReportFileReader.isOwnRegularFile(CrashAgent.acknowledgedMarker(file))) {
                        continue;
                    }
                    try {
                        attributes.check(file, true);
                    } catch (ReportFileReader.RefusedException e) {
                        skip(e.reason(), e.getMessage());
                        continue;
                    }
                    candidates.add(new Candidate(file, attributes.modified, meantFor));
                    if (candidates.size() > MAX_FILES_READ) {
                        candidates.poll();
                        notRead++;
                    }
                }
            }
        }

        List<CrashReport> finish() {
            List<Candidate> oldestFirst = new ArrayList<>(candidates);
            oldestFirst.sort(NEWEST_FIRST.reversed());
            List<CrashReport> pending = new ArrayList<>();
            for (Candidate c : oldestFirst) {
                CrashReport report;
                try {
                    report = CrashReport.read(c.file(), reader, true);
                } catch (NoSuchFileException raced) {
                    continue;
                } catch (ReportFileReader.RefusedException e) {
                    skip(e.reason(), e.getMessage());
                    continue;
                } catch (InvalidCrashReportException e) {
                    skip("not a valid report", e.getMessage());
                    continue;
                } catch (IOException e) {
                    skip("could not be read", "crash report " + c.file() + ": " + e);
                    continue;
                }
                if (c.meantFor() != null && (report.reportDirectory() == null
                        || !sameDirectory(report.reportDirectory(), c.meantFor()))) {
                    continue;
                }
                if (rules.processGone(report.pid(), report.timestamp())) {
                    pending.add(report);
                }
            }
            warnOnce();
            pending.sort(OLDEST_FIRST);
            return List.copyOf(pending);
        }

        private void skip(String reason, String message) {
            skipped.merge(reason, 1, Integer::sum);
            firstSkipped.putIfAbsent(reason, message);
        }

        /** One line for the whole call, however many files were skipped: a directory of junk must not flood the log. */
        private void warnOnce() {
            if (skipped.isEmpty() && notRead == 0 && unlisted == null) {
                return;
            }
            StringBuilder line = new StringBuilder("crash reports:");
            if (!skipped.isEmpty()) {
                int total = skipped.values().stream().mapToInt(Integer::intValue).sum();
                StringJoiner counts = new StringJoiner(", ");
                skipped.forEach((reason, n) -> counts.add(n + " " + reason));
                line.append(" skipped ").append(total).append(total == 1 ? " file" : " files")
                        .append(" named like reports (").append(counts).append("); the first of each: ")
                        .append(String.join("; ", firstSkipped.values())).append('.');
            }
            if (notRead > 0) {
                line.append(" Did not read ").append(notRead).append(notRead == 1 ? " more file" : " more files")
                        .append(", the newest: at most ").append(MAX_FILES_READ)
                        .append(" are read per call, oldest first; acknowledge or remove old reports.");
            }
            if (unlisted != null) {
                line.append(' ').append(unlisted).append('.');
            }
            warn(line.toString());
        }
    }

    /** See {@link CrashAgent#acknowledge}. */
    static void acknowledge(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "the report to acknowledge does not exist");
        }
        Path marker = CrashAgent.acknowledgedMarker(file);
        try {
            Files.write(marker, new byte[0], StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException alreadyAcknowledged) {
            // Acknowledged before, maybe by another process: nothing to do, unless someone else put
            // it there, which pendingReports does not count.
            if (!ReportFileReader.isOwnRegularFile(marker)) {
                throw new FileAlreadyExistsException(marker.toString(), null, "exists but is not a regular file of"
                        + " yours, so it does not acknowledge the report; remove it and acknowledge again");
            }
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
