// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What {@link CrashAgent#pendingReports(java.nio.file.Path)} does differently per OS: how exactly
 * the OS knows when a process started, and whether report names are matched ignoring case.
 * Package-private so that tests on Linux can apply the Windows rules.
 */
enum PendingRules {
    /**
     * Linux, and any OS other than Windows. Linux derives a process's start time from the boot
     * time in whole seconds, so it can be off by up to a second: a live process counts as reusing
     * the pid only when it started more than a second after the crash.
     */
    LINUX(Duration.ofSeconds(1), false),
    /**
     * Windows. A process's creation time is exact (100 ns units), and the JDK and the agent both
     * cut it to whole milliseconds, so 1 ms absorbs that rounding. More would hide reports: Windows
     * soon gives a freed pid (pids are small multiples of 4) to a new process. NTFS names ignore
     * case, so {@code CRASHAGENT_PID12.JSON} is a report too.
     */
    WINDOWS(Duration.ofMillis(1), true);

    private static final PendingRules CURRENT = forOsName(System.getProperty("os.name", ""));

    private final Duration startTimeSlack;
    private final Pattern reportName;

    PendingRules(Duration startTimeSlack, boolean namesIgnoreCase) {
        this.startTimeSlack = startTimeSlack;
        this.reportName = Pattern.compile("crashagent_pid\\d+(_\\d+)?\\.json",
                namesIgnoreCase ? Pattern.CASE_INSENSITIVE : 0);
    }

    /** The rules of the OS this JVM runs on. */
    static PendingRules current() {
        return CURRENT;
    }

    static PendingRules forOsName(String osName) {
        return osName.toLowerCase(Locale.ROOT).startsWith("windows") ? WINDOWS : LINUX;
    }

    /** True for crashagent_pid&lt;pid&gt;[_&lt;n&gt;].json. */
    boolean isReportName(String fileName) {
        return reportName.matcher(fileName).matches();
    }

    /** True when the process that crashed at crashTime with this pid no longer runs. */
    boolean processGone(long pid, Instant crashTime) {
        if (pid == ProcessHandle.current().pid()) {
            // This process is alive, so the report is from an earlier process with the same pid
            // exactly when this JVM started after the crash.
            return ManagementFactory.getRuntimeMXBean().getStartTime() > crashTime.toEpochMilli();
        }
        // A process this user may not open (on Windows, typically another user's) looks gone as
        // well: the JDK cannot tell that from no process at all.
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        Optional<Instant> start = process.get().info().startInstant();
        return start.isPresent() && start.get().isAfter(crashTime.plus(startTimeSlack));
    }
}
