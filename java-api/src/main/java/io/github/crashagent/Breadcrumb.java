// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.util.Objects;

/**
 * One {@link CrashAgent#breadcrumb(String)} message as the crash found it: when, on which Java
 * thread, and the text (cut to 192 bytes of UTF-8). Immutable.
 */
public final class Breadcrumb {
    private final long timestamp;
    private final long javaThreadId;
    private final String threadName;
    private final String message;

    public Breadcrumb(long timestamp, long javaThreadId, String threadName, String message) {
        this.timestamp = timestamp;
        this.javaThreadId = javaThreadId;
        this.threadName = Objects.requireNonNull(threadName, "threadName");
        this.message = Objects.requireNonNull(message, "message");
    }

    /** Milliseconds since the epoch when the message was recorded. */
    public long timestamp() { return timestamp; }
    /** {@link Thread#getId()} of the thread that recorded it. */
    public long javaThreadId() { return javaThreadId; }
    /** That thread's name at the time, cut to 32 bytes of UTF-8. */
    public String threadName() { return threadName; }
    /** The message. */
    public String message() { return message; }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Breadcrumb)) return false;
        Breadcrumb b = (Breadcrumb) o;
        return timestamp == b.timestamp && javaThreadId == b.javaThreadId && threadName.equals(b.threadName)
                && message.equals(b.message);
    }

    @Override
    public int hashCode() {
        return Objects.hash(timestamp, javaThreadId, threadName, message);
    }

    @Override
    public String toString() {
        return "Breadcrumb{" + timestamp + " [" + threadName + " #" + javaThreadId + "] " + message + "}";
    }
}
