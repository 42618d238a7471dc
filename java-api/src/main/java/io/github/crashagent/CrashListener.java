// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

/**
 * Called once when the process crashes in native code, to save what would otherwise be lost:
 * flush logs, record application state, mark a job as failed.
 *
 * <p>Listeners run one after another on the agent's dispatcher thread while the crashing thread
 * waits, within the budget set by the agent option {@code timeout} (milliseconds, default 5000)
 * for all listeners together. After that budget the crash proceeds to the JVM's own handler
 * whether or not the listeners returned, and the process dies.
 *
 * <p>A listener may log, flush and close appenders and streams, write a small file, or record
 * application state it can read without waiting. It must not:
 * <ul>
 *   <li>wait for other application threads or take locks they may hold: the crashed thread and
 *       others may never release them;</li>
 *   <li>call into the native library that crashed, or rely on native state;</li>
 *   <li>start long work or network calls that need more than the budget;</li>
 *   <li>expect the process to survive: it cannot stop or undo the crash, and {@code System.exit}
 *       or shutdown hooks do not run normally from here.</li>
 * </ul>
 * When the crash happened in Java or VM code rather than in native code, or on a thread the JVM
 * does not know, the event has no Java stack. Exceptions a listener throws are recorded in the
 * report as its outcome and do not stop the other listeners.
 */
@FunctionalInterface
public interface CrashListener {
    /** Handles the crash; see the class description for what is allowed here. */
    void onCrash(CrashEvent event);
}
