package io.github.crashagent;

/**
 * Called once when the process crashes in native code.
 *
 * <p>Listeners run on the agent's dispatcher thread while the crashing thread waits, within the
 * budget set by the agent option {@code timeout} (milliseconds, default 5000). After that budget
 * the crash proceeds to the JVM's own handler whether or not the listener returned.
 *
 * <p>A listener may log, flush buffers, write a small file, or record application state. It must
 * not wait for other application threads (they may hold locks that will never be released), start
 * long work, or call into the native library that crashed. Exceptions it throws are recorded in
 * the report and do not stop the other listeners.
 */
@FunctionalInterface
public interface CrashListener {
    void onCrash(CrashEvent event);
}
