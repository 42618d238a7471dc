package io.github.crashagent;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * Entry point of the crashagent Java API: listeners that run when the process crashes in native
 * code, and the reports earlier processes left behind.
 *
 * <p>The native agent is loaded with {@code -agentpath:}. Without it, {@link #isActive()} is false,
 * listeners are accepted and never called, {@link #reportDirectory()} is empty and
 * {@link #pendingReports()} is an empty list; nothing here throws because the agent is missing.
 * When the agent is attached to the running JVM later ({@code jcmd <pid> JVMTI.agent_load}), all
 * of that changes from then on, and the listeners added before run too.
 *
 * <h2>Pending reports and acknowledging them</h2>
 * A report {@code crashagent_pid<pid>[_<n>].json} in the report directory is <em>pending</em>
 * when the process that wrote it is gone and nobody acknowledged it:
 * <ul>
 *   <li>Gone: no live process has the report's pid; or the live process with that pid started
 *       after the crash, so it reuses the pid (a restarted container is pid 1 again). For this
 *       process's own pid the JVM's exact start time decides; for others the OS start time, which
 *       Linux gives to about a second, so a pid reused within a second of the crash counts as
 *       still running until that process exits (Windows gives it to the millisecond, and there
 *       report names are matched ignoring case, as NTFS does). A crashing process that is still
 *       writing hs_err or running listeners is not gone. Pids are compared in this process's pid
 *       namespace: a directory shared by containers with separate pid namespaces can hide a
 *       report until the unrelated process with the same pid exits.</li>
 *   <li>Acknowledged: {@link #acknowledge(CrashReport)} creates an empty marker file
 *       {@code <report>.json.acknowledged} next to the report. Nothing is moved or deleted: the
 *       report, its log and hs_err stay where the agent and HotSpot wrote them (the agent also
 *       relies on the names staying taken). Delete old reports and markers yourself when you no
 *       longer need them.</li>
 * </ul>
 * A file that looks like a report but cannot be read is left alone, skipped and logged as a
 * warning through {@link System.Logger} (logger {@code io.github.crashagent}).
 *
 * <p>When the report directory is not writable at crash time (removed, full), the agent writes the
 * report to the temp directory instead ({@code $TMPDIR} or {@code /tmp} on Linux, the Windows temp
 * folder), with a note. {@link #pendingReports()} looks there too, for reports meant for this
 * report directory.
 */
public final class CrashAgent {
    /** Suffix of the marker file {@link #acknowledge} creates next to a report. */
    public static final String ACKNOWLEDGED_SUFFIX = ".acknowledged";

    private static final System.Logger LOG = System.getLogger("io.github.crashagent");

    private static final Comparator<CrashReport> OLDEST_FIRST =
            Comparator.comparing(CrashReport::timestamp).thenComparing(r -> r.file().toString());

    private static final List<CrashListener> LISTENERS = new CopyOnWriteArrayList<>();
    // Set once the natives answer; asked again while false, because the agent can be attached
    // to the running JVM (jcmd JVMTI.agent_load) after this class was initialized.
    private static volatile boolean active = connect();

    private CrashAgent() {}

    /** True when the native agent is loaded in this JVM and will report crashes. */
    public static boolean isActive() {
        if (!active) {
            active = connect();
        }
        return active;
    }

    /**
     * Registers a listener to run when the process crashes in native code. Listeners run in the
     * order they were added; see {@link CrashListener} for what they may do. Without the agent
     * the listener is kept and never called.
     */
    public static void addListener(CrashListener listener) {
        Objects.requireNonNull(listener, "listener");
        LISTENERS.add(listener);
    }

    /** Removes a listener added before; does nothing if it is not registered. */
    public static void removeListener(CrashListener listener) {
        LISTENERS.remove(listener);
    }

    /** The absolute folder the agent writes reports into, or empty when the agent is not loaded. */
    public static Optional<Path> reportDirectory() {
        return agentPath(CrashAgent::nativeReportDirectory);
    }

    /**
     * Reports in {@link #reportDirectory()} whose process is gone and that nobody acknowledged,
     * parsed, oldest first; also those that had to go to the temp directory because the report
     * directory was not writable at crash time. Empty when the agent is not loaded.
     *
     * @throws IOException when the report directory cannot be listed
     */
    public static List<CrashReport> pendingReports() throws IOException {
        Optional<Path> dir = reportDirectory();
        if (dir.isEmpty()) {
            return List.of();
        }
        List<CrashReport> pending = new ArrayList<>(pendingReports(dir.get()));
        Optional<Path> fallback = fallbackDirectory();
        if (fallback.isPresent() && !sameDirectory(fallback.get(), dir.get())) {
            try {
                for (CrashReport report : pendingReports(fallback.get())) {
                    if (report.reportDirectory() != null && sameDirectory(report.reportDirectory(), dir.get())) {
                        pending.add(report);
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot list the fallback report directory "
                        + fallback.get() + ": " + e);
            }
        }
        pending.sort(OLDEST_FIRST);
        return List.copyOf(pending);
    }

    /** Where the agent writes reports when the report directory fails at crash time. */
    static Optional<Path> fallbackDirectory() {
        return agentPath(CrashAgent::nativeFallbackDirectory);
    }

    /** A path the agent reports, or empty when there is no agent or no usable path. */
    private static Optional<Path> agentPath(Supplier<String> nativeQuery) {
        if (!isActive()) {
            return Optional.empty();
        }
        try {
            String dir = nativeQuery.get();
            return dir == null || dir.isEmpty() ? Optional.empty() : Optional.of(Path.of(dir));
        } catch (InvalidPathException | LinkageError e) {
            return Optional.empty();
        }
    }

    private static boolean sameDirectory(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }

    /**
     * Like {@link #pendingReports()} for any directory; works without the agent, for example in
     * a separate process that uploads reports.
     *
     * @throws IOException when the directory cannot be listed
     */
    public static List<CrashReport> pendingReports(Path directory) throws IOException {
        return pendingReports(directory, PendingRules.current());
    }

    static List<CrashReport> pendingReports(Path directory, PendingRules rules) throws IOException {
        Objects.requireNonNull(directory, "directory");
        List<CrashReport> pending = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory,
                p -> rules.isReportName(p.getFileName().toString()))) {
            for (Path file : files) {
                if (Files.exists(acknowledgedMarker(file))) {
                    continue;
                }
                CrashReport report;
                try {
                    report = CrashReport.read(file);
                } catch (NoSuchFileException raced) {
                    continue;
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "skipping unreadable crash report: " + e.getMessage());
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

    /**
     * Marks a report as handled, so {@link #pendingReports()} no longer returns it, by creating
     * the empty file {@code <report>.acknowledged} next to it. The report itself stays. Calling
     * it again for the same report does nothing.
     *
     * @throws NoSuchFileException when the report file no longer exists
     * @throws IOException when the marker cannot be written
     */
    public static void acknowledge(CrashReport report) throws IOException {
        Objects.requireNonNull(report, "report");
        Path file = report.file();
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "the report to acknowledge does not exist");
        }
        try {
            Files.write(acknowledgedMarker(file), new byte[0], StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException alreadyAcknowledged) {
            // acknowledged before, maybe by another process: nothing to do
        }
    }

    static Path acknowledgedMarker(Path report) {
        return report.resolveSibling(report.getFileName() + ACKNOWLEDGED_SUFFIX);
    }

    private static boolean connect() {
        try {
            return nativeConnect();
        } catch (LinkageError notLoaded) {
            // UnsatisfiedLinkError without the agent; any other linkage problem means the same
            return false;
        }
    }

    /**
     * Called by the agent's dispatcher thread, once, after a crash. Runs every listener and hands
     * each outcome to the agent as soon as it is known, so that a listener that hangs still leaves
     * the outcomes of the ones before it in the report.
     */
    @SuppressWarnings("unused")
    private static void dispatch(String[] text, long[] numbers, String[] frameClasses,
                                 String[] frameMethods, String[] frameFiles, int[] frameLines,
                                 String[] nativeFrames) {
        CrashEvent event = NativeEventDecoder.decode(text, numbers, frameClasses, frameMethods,
                frameFiles, frameLines, nativeFrames);
        List<CrashListener> snapshot = new ArrayList<>(LISTENERS);
        for (int i = 0; i < snapshot.size(); i++) {
            CrashListener listener = snapshot.get(i);
            String name = listener.getClass().getName();
            nativeListenerOutcome(i, name, "running");
            String outcome;
            try {
                listener.onCrash(event);
                outcome = "ok";
            } catch (Throwable t) {
                outcome = "threw " + t;
            }
            nativeListenerOutcome(i, name, outcome);
        }
    }

    private static native boolean nativeConnect();

    private static native String nativeReportDirectory();

    private static native String nativeFallbackDirectory();

    private static native void nativeListenerOutcome(int index, String listener, String outcome);
}
