// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

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
 *       still running until that process exits. A crashing process that is still writing hs_err
 *       or running listeners is not gone. Pids are compared in this process's pid namespace: a
 *       directory shared by containers with separate pid namespaces can hide a report until the
 *       unrelated process with the same pid exits.</li>
 *   <li>Acknowledged: {@link #acknowledge(CrashReport)} creates an empty marker file
 *       {@code <report>.json.acknowledged} next to the report; only a marker that is a regular
 *       file of the current user counts. Nothing is moved or deleted: the report, its log and
 *       hs_err stay where the agent and HotSpot wrote them (the agent also relies on the names
 *       staying taken). Delete old reports and markers yourself when you no longer need them.</li>
 * </ul>
 *
 * <h2>Which files count</h2>
 * Only a regular file owned by the current user (the user whose new files the process owns, as
 * the agent's reports are) counts, and on Linux and other POSIX systems only one that group and
 * others cannot write (the agent writes reports {@code rw-------}). It is read as itself: a
 * symbolic link with a report's name is skipped, never followed (the directory may be reached
 * through links). A file larger than {@link CrashReport#MAX_FILE_SIZE} is skipped without being
 * opened. At most 1,000 files are read per call, oldest (by modification time) first; the newer
 * ones wait for a later call. Skipped files are left alone; each call logs at most one warning
 * through {@link System.Logger} (logger {@code io.github.crashagent}) that counts them by reason
 * and names the first of each. No file can block the call: see {@link CrashReport#read}.
 *
 * <p>When the report directory is not writable at crash time (removed, full), the agent writes the
 * report to the temp directory instead ({@code $TMPDIR} or {@code /tmp} on Linux, the Windows temp
 * folder), with a note. {@link #pendingReports()} looks there too, for reports meant for this
 * report directory, under the same rules; files of other users there are skipped without a
 * warning, since the temp directory is shared and they are theirs.
 *
 * <h2>Jackson</h2>
 * Reading reports ({@link CrashReport}, {@link #pendingReports()}) needs Jackson
 * ({@code com.fasterxml.jackson.core:jackson-databind}) on the class path; without it they throw
 * an {@link IllegalStateException} that says so. Listeners, {@link #isActive()} and
 * {@link #reportDirectory()} need nothing but this library: registering a listener loads neither
 * Jackson nor {@code java.logging}, and neither does running the listeners after a crash.
 */
public final class CrashAgent {
    /** Suffix of the marker file {@link #acknowledge} creates next to a report. */
    public static final String ACKNOWLEDGED_SUFFIX = ".acknowledged";

    // The static state is kept to what listeners need: an application pays for initializing this
    // class at startup, and the dispatcher runs it after a crash. No lambdas, regexes, loggers,
    // report classes or file handling here (the verifier would load the exceptions they catch);
    // reading and acknowledging reports (PendingReports, CrashReport) brings its own.
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

    /**
     * Sets a key of the application context the crash report will hold ({@code context} in the
     * report), such as the request, file or user action being handled; a null value removes the
     * key. Without the agent this does nothing.
     *
     * <p>The map holds 64 distinct keys for the life of the process (a removed key keeps its
     * place, and putting it again reuses it); a put of a 65th key is ignored and counted in the
     * report. Keys are cut to 64 bytes and values to 256 bytes of UTF-8, at a character boundary.
     * The call makes no JNI call and, after a key's first put (which takes a lock to give the key
     * its place), takes no lock and allocates nothing: the value goes straight into memory the
     * agent shares with Java. When two threads put the same key at the same moment, one of the two
     * values is kept. A value a thread was writing when the process crashed is left out.
     *
     * @throws NullPointerException when key is null
     */
    public static void putContext(String key, String value) {
        Objects.requireNonNull(key, "key");
        SharedContext shared = Shared.CONTEXT;
        if (shared != null) {
            if (value == null) {
                shared.remove(key);
            } else {
                shared.put(key, value);
            }
        }
    }

    /** Removes a key of the application context; does nothing when it is not set or without the agent. */
    public static void removeContext(String key) {
        Objects.requireNonNull(key, "key");
        SharedContext shared = Shared.CONTEXT;
        if (shared != null) {
            shared.remove(key);
        }
    }

    /**
     * Records a breadcrumb: the report keeps the last messages of the whole process (100 unless
     * the agent option {@code breadcrumbs=} says otherwise), each with its time and the Java
     * thread's id and name. Messages are cut to 192 bytes and thread names to 32 bytes of UTF-8.
     * No lock, no JNI call, no allocation; without the agent it does nothing. A breadcrumb a
     * thread was writing when the process crashed is left out.
     *
     * @throws NullPointerException when message is null
     */
    public static void breadcrumb(String message) {
        Objects.requireNonNull(message, "message");
        SharedContext shared = Shared.CONTEXT;
        if (shared != null) {
            shared.breadcrumb(message);
        }
    }

    /**
     * The agent's shared memory, connected on first use, not when CrashAgent is initialized:
     * applications that only register listeners pay nothing for it. Null without the agent (or
     * with one too old to share memory), so the calls above are a null check then.
     */
    private static final class Shared {
        static final SharedContext CONTEXT = connectShared();

        private static SharedContext connectShared() {
            try {
                return SharedContext.over(nativeSharedMemory());
            } catch (LinkageError notLoaded) {
                return null;
            }
        }
    }

    /** The absolute folder the agent writes reports into, or empty when the agent is not loaded. */
    public static Optional<Path> reportDirectory() {
        return agentDirectory(false);
    }

    /**
     * Reports in {@link #reportDirectory()} whose process is gone and that nobody acknowledged,
     * parsed, oldest first; also those that had to go to the temp directory because the report
     * directory was not writable at crash time. Empty when the agent is not loaded. Only the
     * current user's own report files count; see "Which files count" above.
     *
     * @throws IOException when the report directory cannot be listed
     * @throws IllegalStateException when Jackson is not on the class path, with or without the
     *         agent: the message names the artifact to add
     */
    public static List<CrashReport> pendingReports() throws IOException {
        CrashReport.requireJackson();
        Optional<Path> dir = reportDirectory();
        if (dir.isEmpty()) {
            return List.of();
        }
        return PendingReports.inReportDirectory(dir.get(), fallbackDirectory());
    }

    /**
     * Like {@link #pendingReports()} for any directory; works without the agent, for example in
     * a separate process that uploads reports. That process must run as the user the application
     * runs as: other users' files do not count.
     *
     * @throws IOException when the directory cannot be listed
     * @throws IllegalStateException when Jackson is not on the class path; the message names the
     *         artifact to add
     */
    public static List<CrashReport> pendingReports(Path directory) throws IOException {
        return pendingReports(directory, PendingRules.current());
    }

    /** {@link #pendingReports(Path)} with the rules of a given OS, so tests can apply Windows' on Linux. */
    static List<CrashReport> pendingReports(Path directory, PendingRules rules) throws IOException {
        Objects.requireNonNull(directory, "directory");
        CrashReport.requireJackson();
        return PendingReports.in(directory, rules);
    }

    /** Where the agent writes reports when the report directory fails at crash time. */
    static Optional<Path> fallbackDirectory() {
        return agentDirectory(true);
    }

    /**
     * The report or the fallback directory as the agent reports it, or empty without an agent, with
     * an agent too old to answer, or for a path that is not usable. A flag, not a function
     * argument: a lambda here would cost applications its bootstrap at startup.
     */
    private static Optional<Path> agentDirectory(boolean fallback) {
        if (!isActive()) {
            return Optional.empty();
        }
        String dir;
        try {
            dir = fallback ? nativeFallbackDirectory() : nativeReportDirectory();
        } catch (LinkageError olderAgent) {
            return Optional.empty();
        }
        try {
            return dir == null || dir.isEmpty() ? Optional.empty() : Optional.of(Path.of(dir));
        } catch (IllegalArgumentException invalidPath) {
            // InvalidPathException, caught as its supertype so that verifying this class does not load it
            return Optional.empty();
        }
    }

    /**
     * Marks a report as handled, so {@link #pendingReports()} no longer returns it, by creating
     * the empty file {@code <report>.acknowledged} next to it. The report itself stays. Calling
     * it again for the same report does nothing.
     *
     * @throws NoSuchFileException when the report file no longer exists
     * @throws java.nio.file.FileAlreadyExistsException when a marker that is not a regular file
     *         of the current user is in the way (it acknowledges nothing)
     * @throws IOException when the marker cannot be written
     */
    public static void acknowledge(CrashReport report) throws IOException {
        Objects.requireNonNull(report, "report");
        PendingReports.acknowledge(report.file());
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
        Object[] crashContext;
        try {
            crashContext = nativeCrashContext();
        } catch (LinkageError olderAgent) {
            crashContext = null;
        }
        Object[] crashCalls;
        try {
            crashCalls = nativeCrashCalls();
        } catch (LinkageError olderAgent) {
            crashCalls = null;
        }
        CrashEvent event = NativeEventDecoder.decode(text, numbers, frameClasses, frameMethods,
                frameFiles, frameLines, nativeFrames, crashContext, crashCalls);
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
                // concat, not +: + is an invokedynamic whose first run bootstraps method handles,
                // slow and allocating in a crashing JVM
                outcome = "threw ".concat(String.valueOf(t));
            }
            nativeListenerOutcome(i, name, outcome);
        }
    }

    private static native boolean nativeConnect();

    private static native String nativeReportDirectory();

    private static native String nativeFallbackDirectory();

    private static native java.nio.ByteBuffer nativeSharedMemory();

    private static native Object[] nativeCrashContext();

    private static native Object[] nativeCrashCalls();

    private static native void nativeListenerOutcome(int index, String listener, String outcome);
}
