// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the agent knows about a native crash: the listeners get it at crash time, and
 * {@link CrashReport#event()} rebuilds the same view from a report file. Immutable.
 */
public final class CrashEvent {
    private final String origin;
    private final String kind;
    private final long code;
    private final long faultAddress;
    private final boolean hasFaultAddress;
    private final long pc;
    private final String module;
    private final long moduleOffset;
    private final String symbol;
    private final String threadName;
    private final boolean javaThread;
    private final String nativeMethod;
    private final StackTraceElement[] javaStackTrace;
    private final List<String> nativeFrames;
    private final String signature;
    private final Path reportFile;
    private final long timestamp;
    private final Map<String, String> context;
    private final List<Breadcrumb> breadcrumbs;
    private final List<NativeCall> nativeCalls;
    private final List<NativeCall> processNativeCalls;

    /** An event of origin {@code native} with a fault address. */
    public CrashEvent(String kind, long code, long faultAddress, long pc, String module,
                      long moduleOffset, String symbol, String threadName, boolean javaThread,
                      String nativeMethod, StackTraceElement[] javaStackTrace,
                      List<String> nativeFrames, String signature, Path reportFile,
                      long timestamp) {
        this("native", kind, code, faultAddress, pc, module, moduleOffset, symbol, threadName, javaThread,
                nativeMethod, javaStackTrace, nativeFrames, signature, reportFile, timestamp);
    }

    /**
     * @param origin       {@code native}, {@code jvm} or {@code external} (see {@link #origin()})
     * @param faultAddress null when the signal carried none (it was sent by a process)
     */
    public CrashEvent(String origin, String kind, long code, Long faultAddress, long pc, String module,
                      long moduleOffset, String symbol, String threadName, boolean javaThread,
                      String nativeMethod, StackTraceElement[] javaStackTrace,
                      List<String> nativeFrames, String signature, Path reportFile,
                      long timestamp) {
        this(origin, kind, code, faultAddress, pc, module, moduleOffset, symbol, threadName, javaThread,
                nativeMethod, javaStackTrace, nativeFrames, signature, reportFile, timestamp, null, null);
    }

    /**
     * @param context     the application context ({@link CrashAgent#putContext}); null for none
     * @param breadcrumbs the breadcrumbs, oldest first ({@link CrashAgent#breadcrumb}); null for none
     */
    public CrashEvent(String origin, String kind, long code, Long faultAddress, long pc, String module,
                      long moduleOffset, String symbol, String threadName, boolean javaThread,
                      String nativeMethod, StackTraceElement[] javaStackTrace,
                      List<String> nativeFrames, String signature, Path reportFile,
                      long timestamp, Map<String, String> context, List<Breadcrumb> breadcrumbs) {
        this(origin, kind, code, faultAddress, pc, module, moduleOffset, symbol, threadName, javaThread,
                nativeMethod, javaStackTrace, nativeFrames, signature, reportFile, timestamp, context, breadcrumbs,
                null, null);
    }

    /**
     * @param nativeCalls        the crashing thread's recorded native calls, oldest first
     *                           (agent option {@code native-calls=}); null for none
     * @param processNativeCalls every thread's recorded native calls, oldest first; null for none
     */
    public CrashEvent(String origin, String kind, long code, Long faultAddress, long pc, String module,
                      long moduleOffset, String symbol, String threadName, boolean javaThread,
                      String nativeMethod, StackTraceElement[] javaStackTrace,
                      List<String> nativeFrames, String signature, Path reportFile,
                      long timestamp, Map<String, String> context, List<Breadcrumb> breadcrumbs,
                      List<NativeCall> nativeCalls, List<NativeCall> processNativeCalls) {
        this.nativeCalls = nativeCalls == null ? List.of() : List.copyOf(nativeCalls);
        this.processNativeCalls = processNativeCalls == null ? List.of() : List.copyOf(processNativeCalls);
        this.context = context == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(context));
        this.breadcrumbs = breadcrumbs == null ? List.of() : List.copyOf(breadcrumbs);
        this.origin = Objects.requireNonNull(origin, "origin");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.code = code;
        this.hasFaultAddress = faultAddress != null;
        this.faultAddress = faultAddress == null ? 0 : faultAddress;
        this.pc = pc;
        this.module = module;
        this.moduleOffset = moduleOffset;
        this.symbol = symbol;
        this.threadName = threadName;
        this.javaThread = javaThread;
        this.nativeMethod = nativeMethod;
        this.javaStackTrace = javaStackTrace == null ? new StackTraceElement[0] : javaStackTrace.clone();
        this.nativeFrames = nativeFrames == null ? List.of() : List.copyOf(nativeFrames);
        this.signature = signature;
        this.reportFile = reportFile;
        this.timestamp = timestamp;
    }

    /**
     * {@code native} for a fault in library code, {@code jvm} for a fatal error of the JVM itself,
     * {@code external} for a signal another process sent (such as {@code kill -SEGV}): nothing in
     * this process failed then, and the frames only show what the signal interrupted.
     */
    public String origin() { return origin; }
    /** Signal or exception name, for example {@code SIGSEGV} or {@code EXCEPTION_ACCESS_VIOLATION}. */
    public String kind() { return kind; }
    /** Signal number on POSIX, exception code on Windows. */
    public long code() { return code; }
    /**
     * The address the faulting instruction accessed (0 for a null dereference); 0 as well when
     * the signal carried none, see {@link #hasFaultAddress()}.
     */
    public long faultAddress() { return faultAddress; }
    /**
     * False for a signal sent by a process ({@code kill}, {@code raise}, {@code abort}): no
     * instruction faulted, and {@link #faultAddress()} is 0.
     */
    public boolean hasFaultAddress() { return hasFaultAddress; }
    /** Address of the faulting instruction. */
    public long pc() { return pc; }
    /** Path of the module that holds the crash frame (the first frame outside the C runtime), or null when no module holds it. */
    public String module() { return module; }
    /** Offset of the crash frame in {@link #module()}, or 0 when there is no module. */
    public long moduleOffset() { return moduleOffset; }
    /** Nearest symbol to the crash frame, or null. */
    public String symbol() { return symbol; }
    /** Java name of the crashing thread, or its native name for a thread the JVM does not know. */
    public String threadName() { return threadName; }
    /**
     * True when the crashing thread is a Java thread; false when it is not, or when the agent,
     * attached to a running JVM, cannot tell (see {@link CrashReport#javaThread()}).
     */
    public boolean javaThread() { return javaThread; }
    /** The Java native method that entered the crashing library, as {@code Class.method(signature)}, or null. */
    public String nativeMethod() { return nativeMethod; }
    /** Java stack of the crashing thread, innermost first; empty when it could not be read. */
    public StackTraceElement[] javaStackTrace() { return javaStackTrace.clone(); }
    /**
     * Native frames, innermost first, each as {@code module+0xoffset (symbol+0xoffset)}; a frame in
     * code the JVM generated as {@code [JVM code: <name>]} (a compiled method, a native wrapper or
     * a stub such as the interpreter), and any other frame outside a module as {@code ?+0x<pc>}.
     */
    public List<String> nativeFrames() { return nativeFrames; }
    /** Stable grouping key for the crash site, or null. */
    public String signature() { return signature; }
    /** The JSON report written by the agent. */
    public Path reportFile() { return reportFile; }
    /** Milliseconds since the epoch when the crash was captured. */
    public long timestamp() { return timestamp; }

    /**
     * The application context the crash found ({@link CrashAgent#putContext}), in the order the
     * keys were first put; empty when there was none or the agent shares no memory with Java.
     */
    public Map<String, String> context() { return context; }
    /** The breadcrumbs the crash found ({@link CrashAgent#breadcrumb}), oldest first; at most the agent's {@code breadcrumbs=}. */
    public List<Breadcrumb> breadcrumbs() { return breadcrumbs; }

    /**
     * The crashing thread's last calls of native methods (at most 32), oldest first, recorded when
     * the agent option {@code native-calls=} selects their classes; empty without it.
     */
    public List<NativeCall> nativeCalls() { return nativeCalls; }

    /** The last calls of selected native methods across all threads (at most 256), oldest first; empty without {@code native-calls=}. */
    public List<NativeCall> processNativeCalls() { return processNativeCalls; }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof CrashEvent)) return false;
        CrashEvent e = (CrashEvent) o;
        return code == e.code && faultAddress == e.faultAddress && hasFaultAddress == e.hasFaultAddress
                && pc == e.pc && origin.equals(e.origin)
                && moduleOffset == e.moduleOffset && javaThread == e.javaThread
                && timestamp == e.timestamp && kind.equals(e.kind) && Objects.equals(module, e.module)
                && Objects.equals(symbol, e.symbol) && Objects.equals(threadName, e.threadName)
                && Objects.equals(nativeMethod, e.nativeMethod)
                && Arrays.equals(javaStackTrace, e.javaStackTrace)
                && nativeFrames.equals(e.nativeFrames) && Objects.equals(signature, e.signature)
                && Objects.equals(reportFile, e.reportFile) && context.equals(e.context)
                && breadcrumbs.equals(e.breadcrumbs) && nativeCalls.equals(e.nativeCalls)
                && processNativeCalls.equals(e.processNativeCalls);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, code, pc, module, moduleOffset, signature, timestamp);
    }

    @Override
    public String toString() {
        return "CrashEvent{" + kind + " at " + (module == null ? "?" : module) + "+0x"
                + Long.toHexString(moduleOffset) + (symbol == null ? "" : " (" + symbol + ")")
                + ", thread=" + threadName + ", nativeMethod=" + nativeMethod
                + ", signature=" + signature + ", javaStack=" + Arrays.toString(javaStackTrace) + "}";
    }
}
