// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One call of a Java native method recorded before the crash (agent option
 * {@code native-calls=}): which method, on which thread, when, and its first integer arguments.
 * Immutable.
 */
public final class NativeCall {
    private final String method;
    private final long threadId;
    private final long timeNanos;
    private final List<Long> arguments;

    /**
     * @param arguments the recorded arguments; a null element stands for a reference argument,
     *                  whose handle the agent does not show
     */
    public NativeCall(String method, long threadId, long timeNanos, List<Long> arguments) {
        this.method = method;
        this.threadId = threadId;
        this.timeNanos = timeNanos;
        this.arguments = arguments == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(arguments));
    }

    /** The Java native method as {@code pkg.Class.method(signature)}, or null when unknown. */
    public String method() { return method; }
    /** OS thread id of the caller. */
    public long threadId() { return threadId; }
    /** Nanoseconds relative to the crash, negative before it; 0 when the agent could not time calls. */
    public long timeNanos() { return timeNanos; }
    /**
     * The first integer arguments after {@code JNIEnv*} and the class or object, as their Java type
     * holds them (a boolean as 0 or 1), at most three; null for a reference argument.
     */
    public List<Long> arguments() { return arguments; }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof NativeCall)) return false;
        NativeCall c = (NativeCall) o;
        return threadId == c.threadId && timeNanos == c.timeNanos && Objects.equals(method, c.method)
                && arguments.equals(c.arguments);
    }

    @Override
    public int hashCode() {
        return Objects.hash(method, threadId, timeNanos, arguments);
    }

    @Override
    public String toString() {
        return "NativeCall{" + timeNanos + " ns [tid " + threadId + "] " + method + " " + arguments + "}";
    }
}
