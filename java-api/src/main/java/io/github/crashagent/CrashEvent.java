package io.github.crashagent;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** What the agent knows about a native crash when the listeners run. Immutable. */
public final class CrashEvent {
    private final String kind;
    private final long code;
    private final long faultAddress;
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

    public CrashEvent(String kind, long code, long faultAddress, long pc, String module,
                      long moduleOffset, String symbol, String threadName, boolean javaThread,
                      String nativeMethod, StackTraceElement[] javaStackTrace,
                      List<String> nativeFrames, String signature, Path reportFile,
                      long timestamp) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.code = code;
        this.faultAddress = faultAddress;
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

    /** Signal or exception name, for example {@code SIGSEGV} or {@code EXCEPTION_ACCESS_VIOLATION}. */
    public String kind() { return kind; }
    /** Signal number on POSIX, exception code on Windows. */
    public long code() { return code; }
    public long faultAddress() { return faultAddress; }
    public long pc() { return pc; }
    /** Path of the module that holds the faulting PC, or null when no module holds it. */
    public String module() { return module; }
    public long moduleOffset() { return moduleOffset; }
    /** Nearest symbol to the PC, or null. */
    public String symbol() { return symbol; }
    public String threadName() { return threadName; }
    public boolean javaThread() { return javaThread; }
    /** The Java native method that entered the crashing library, as {@code Class.method(signature)}, or null. */
    public String nativeMethod() { return nativeMethod; }
    public StackTraceElement[] javaStackTrace() { return javaStackTrace.clone(); }
    /** Native frames, innermost first, each as {@code module+0xoffset [symbol]}. */
    public List<String> nativeFrames() { return nativeFrames; }
    /** Stable grouping key for the crash site. */
    public String signature() { return signature; }
    /** The JSON report written by the agent. */
    public Path reportFile() { return reportFile; }
    /** Milliseconds since the epoch when the crash was captured. */
    public long timestamp() { return timestamp; }

    @Override
    public String toString() {
        return "CrashEvent{" + kind + " at " + (module == null ? "?" : module) + "+0x"
                + Long.toHexString(moduleOffset) + (symbol == null ? "" : " (" + symbol + ")")
                + ", thread=" + threadName + ", nativeMethod=" + nativeMethod
                + ", signature=" + signature + ", javaStack=" + Arrays.toString(javaStackTrace) + "}";
    }
}
