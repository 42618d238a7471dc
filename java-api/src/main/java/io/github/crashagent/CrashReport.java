// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A crash report file ({@code crashagent_pid<pid>.json}) read back: the same {@link CrashEvent}
 * view the listeners saw, plus what only the report has (dispatch status, listener outcomes,
 * registers, modules, JVM version, hs_err path, other crashes).
 *
 * <p>The format is the JSON Schema {@code schema/crash-report.schema.json} in the project. Reading
 * is bounded: symbolic links, anything but a regular file, files larger than {@link #MAX_FILE_SIZE},
 * nesting deeper than a report has, very long strings and other hostile input are rejected with an
 * {@link InvalidCrashReportException} naming the file and the problem, never with an
 * {@code OutOfMemoryError} or a hang. Immutable.
 *
 * <p>Reading needs Jackson ({@code com.fasterxml.jackson.core:jackson-databind}) on the class
 * path; {@code crashagent-api} declares it optional because listeners do not need it.
 */
public final class CrashReport {
    /** The value of the report's {@code schema} field. */
    public static final String SCHEMA = "crashagent-report";
    /** The newest {@code schema_version} this reader understands; newer reports are rejected. */
    public static final int SCHEMA_VERSION = 2;
    /**
     * Largest file {@link #read} accepts, 8 MiB. A real report has a few tens of KiB and the agent's
     * largest possible one (512 modules with long paths) about 1 MiB; the limit leaves room for
     * that and still bounds what a junk file costs to reject.
     */
    public static final long MAX_FILE_SIZE = 8L * 1024 * 1024;

    /** How the Java part of the crash handling ended. */
    public enum DispatchStatus {
        /** The report was written before the listeners ran, and never rewritten: the process died meanwhile. */
        PENDING,
        /** The listeners were still running when the report was written. */
        RUNNING,
        /** Every listener returned. */
        COMPLETE,
        /** The listeners did not finish within the agent's {@code timeout}. */
        TIMED_OUT,
        /** No dispatch happened (the crash came before the JVM was ready, or on the dispatcher itself). */
        NOT_STARTED,
        /**
         * The JVM began to exit while the listeners ran: a listener called {@code System.exit} or
         * {@code Runtime.halt} (or another thread did). The outcomes so far are in the report, the
         * later listeners did not run, and {@link #note()} names the listener.
         */
        INTERRUPTED
    }

    /** What one listener did: {@code ok}, {@code threw ...}, or {@code did not finish}. */
    public record ListenerOutcome(String listener, String outcome) {}

    /**
     * A loaded module (shared library) and its address range. {@code buildId} is its GNU build-id
     * (ELF, lowercase hex), which names the exact build for debug-info lookups (debuginfod,
     * {@code .build-id} directories); null on Windows, for a module without one, and in reports of
     * agents that predate it. On Windows {@code codeId} ({@code <TimeDateStamp %08X><SizeOfImage %x>})
     * and, when the image has a CodeView record, {@code debugId} ({@code <GUID><age>}) and
     * {@code pdbName} key the image and its PDB on a symbol server; null elsewhere.
     */
    public record Module(String path, long base, long end, String buildId, String pdbName, String debugId,
                         String codeId) {}

    /**
     * One native frame, innermost first. {@code module}, {@code offset}, {@code symbol} and
     * {@code symbolOffset} are null when unknown. {@code jvmCode} names the JVM-generated code a
     * frame outside any module is in ({@code compiled pkg.Class.method(signature)},
     * {@code native wrapper for pkg.Class.method(signature)}, or a stub's name such as
     * {@code Interpreter}); null otherwise and in reports of agents that predate it.
     */
    public record NativeFrame(long pc, String module, Long offset, String symbol, Long symbolOffset, String jvmCode) {
        /** A frame without a JVM code name. */
        public NativeFrame(long pc, String module, Long offset, String symbol, Long symbolOffset) {
            this(pc, module, offset, symbol, symbolOffset, null);
        }
    }

    /** Another thread that crashed while this crash was being reported. */
    public record OtherCrash(long threadId, long code) {}

    private final Path file;
    private final CrashEvent event;
    private final int schemaVersion;
    private final String agentVersion;
    private final long pid;
    private final String platform;
    private final String origin;
    private final String diagnosis;
    private final Long senderPid;
    private final Long senderUid;
    private final String detail;
    private final String pcModule;
    private final Long moduleBase;
    private final long threadId;
    private final String nativeThreadName;
    private final Boolean javaThreadKnown;
    private final String threadState;
    private final String javaStackNote;
    private final List<NativeFrame> frames;
    private final Map<String, Long> registers;
    private final List<Module> modules;
    private final String jvmVersion;
    private final Path hsErrFile;
    private final String signatureText;
    private final DispatchStatus dispatchStatus;
    private final long dispatchTimeoutMillis;
    private final List<ListenerOutcome> listenerOutcomes;
    private final List<OtherCrash> otherCrashes;
    private final Path logFile;
    private final Path minidumpFile;
    private final Path reportDirectory;
    private final String note;

    CrashReport(ReportFields f) throws InvalidCrashReportException {
        this.file = f.file();
        this.schemaVersion = (int) f.integer("/schema_version");
        this.agentVersion = f.text("/agent_version");
        long timestamp = f.integer("/timestamp_ms");
        this.pid = f.integer("/pid");
        this.platform = f.text("/platform");
        this.origin = f.text("/origin");

        f.object("/crash");
        String kind = f.text("/crash/kind");
        this.detail = f.textOrNull("/crash/detail");
        long code = f.integer("/crash/code");
        // null for a signal a process sent: it faulted nowhere
        Long faultAddress = f.hexOrNull("/crash/fault_address");
        this.senderPid = f.integerOrNull("/crash/sender_pid");
        this.senderUid = f.integerOrNull("/crash/sender_uid");
        long pc = f.hex("/crash/pc");
        String module = f.textOrNull("/crash/module");
        this.moduleBase = f.hexOrNull("/crash/module_base");
        Long moduleOffset = f.hexOrNull("/crash/module_offset");
        String symbol = f.textOrNull("/crash/symbol");
        this.pcModule = f.textOrNull("/crash/pc_module");
        this.diagnosis = f.isMissing("/crash/diagnosis") ? null : f.textOrNull("/crash/diagnosis");

        f.object("/thread");
        this.threadId = f.integer("/thread/id");
        String threadName = f.textOrNull("/thread/name");
        this.nativeThreadName = f.textOrNull("/thread/native_name");
        this.javaThreadKnown = f.boolOrNull("/thread/java");
        this.threadState = f.textOrNull("/thread/state");
        String nativeMethod = f.textOrNull("/native_method");

        List<StackTraceElement> stack = new ArrayList<>();
        if (!f.isNull("/java_stack")) {
            int n = f.arraySize("/java_stack");
            for (int i = 0; i < n; i++) {
                String at = "/java_stack/" + i;
                f.object(at);
                String className = f.text(at + "/class");
                String method = f.text(at + "/method");
                // The agent hands listeners "?" for a name it could not read; the report has "".
                stack.add(new StackTraceElement(className.isEmpty() ? "?" : className,
                        method.isEmpty() ? "?" : method, f.textOrNull(at + "/file"),
                        f.int32(at + "/line")));
            }
        }
        this.javaStackNote = f.textOrNull("/java_stack_note");

        List<NativeFrame> nativeFrames = new ArrayList<>();
        int frameCount = f.arraySize("/native_frames");
        for (int i = 0; i < frameCount; i++) {
            String at = "/native_frames/" + i;
            f.object(at);
            // jvm_code is absent in reports of agents that predate it: read as null.
            nativeFrames.add(new NativeFrame(f.hex(at + "/pc"), f.textOrNull(at + "/module"),
                    f.hexOrNull(at + "/offset"), f.textOrNull(at + "/symbol"),
                    f.hexOrNull(at + "/symbol_offset"),
                    f.isMissing(at + "/jvm_code") ? null : f.textOrNull(at + "/jvm_code")));
        }
        this.frames = List.copyOf(nativeFrames);

        Map<String, Long> regs = new LinkedHashMap<>();
        for (String name : f.fieldNames("/registers")) {
            regs.put(name, f.hex("/registers/" + escape(name)));
        }
        this.registers = Collections.unmodifiableMap(regs);

        List<Module> mods = new ArrayList<>();
        int moduleCount = f.arraySize("/modules");
        for (int i = 0; i < moduleCount; i++) {
            String at = "/modules/" + i;
            f.object(at);
            String buildId = f.isMissing(at + "/build_id") ? null : f.textOrNull(at + "/build_id");
            if (buildId != null && !buildId.matches("[0-9a-f]{2,64}")) {
                throw f.invalid(at + "/build_id", "should be a build-id (2 to 64 lowercase hex digits), found \""
                        + shorten(buildId) + "\"");
            }
            mods.add(new Module(f.text(at + "/path"), f.hex(at + "/base"), f.hex(at + "/end"), buildId,
                    optionalText(f, at + "/pdb_name"), optionalText(f, at + "/debug_id"), optionalText(f, at + "/code_id")));
        }
        this.modules = List.copyOf(mods);

        f.object("/jvm");
        this.jvmVersion = f.textOrNull("/jvm/version");
        this.hsErrFile = f.pathOrNull("/jvm/hs_err");
        String signature = f.text("/signature");
        this.signatureText = f.text("/signature_text");

        f.object("/dispatch");
        String status = f.text("/dispatch/status");
        try {
            this.dispatchStatus = DispatchStatus.valueOf(status.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw f.invalid("/dispatch/status", "unknown dispatch status \"" + shorten(status) + "\"");
        }
        this.dispatchTimeoutMillis = f.integer("/dispatch/timeout_ms");

        List<ListenerOutcome> outcomes = new ArrayList<>();
        int listenerCount = f.arraySize("/listeners");
        for (int i = 0; i < listenerCount; i++) {
            String at = "/listeners/" + i;
            f.object(at);
            outcomes.add(new ListenerOutcome(f.text(at + "/name"), f.text(at + "/outcome")));
        }
        this.listenerOutcomes = List.copyOf(outcomes);

        List<OtherCrash> others = new ArrayList<>();
        int otherCount = f.arraySize("/other_crashes");
        for (int i = 0; i < otherCount; i++) {
            String at = "/other_crashes/" + i;
            f.object(at);
            others.add(new OtherCrash(f.integer(at + "/thread_id"), f.integer(at + "/code")));
        }
        this.otherCrashes = List.copyOf(others);

        f.object("/report");
        f.pathOrNull("/report/json");
        this.logFile = f.pathOrNull("/report/log");
        // Absent in reports of agents that predate it: read as null.
        this.minidumpFile = f.isMissing("/report/minidump") ? null : f.pathOrNull("/report/minidump");
        this.reportDirectory = f.isMissing("/report/directory") ? null : f.pathOrNull("/report/directory");
        this.note = f.textOrNull("/note");

        // context and breadcrumbs: absent in reports of agents that predate them, null when the
        // agent shared no memory with Java; both read as empty then.
        Map<String, String> context = new LinkedHashMap<>();
        if (!f.isMissing("/context") && !f.isNull("/context")) {
            for (String key : f.fieldNames("/context")) {
                context.put(key, f.text("/context/" + escape(key)));
            }
        }
        List<Breadcrumb> breadcrumbs = new ArrayList<>();
        if (!f.isMissing("/breadcrumbs") && !f.isNull("/breadcrumbs")) {
            int n = f.arraySize("/breadcrumbs");
            for (int i = 0; i < n; i++) {
                String at = "/breadcrumbs/" + i;
                f.object(at);
                breadcrumbs.add(new Breadcrumb(f.integer(at + "/time_ms"), f.integer(at + "/java_thread_id"),
                        f.text(at + "/thread"), f.text(at + "/message")));
            }
        }

        // native_calls: absent in reports of earlier agents, null without native-calls=.
        List<NativeCall> threadCalls = new ArrayList<>();
        List<NativeCall> processCalls = new ArrayList<>();
        if (!f.isMissing("/native_calls") && !f.isNull("/native_calls")) {
            f.object("/native_calls");
            readCalls(f, "/native_calls/thread", false, threadId, threadCalls);
            readCalls(f, "/native_calls/process", true, threadId, processCalls);
        }

        // The same view the dispatcher hands the listeners (cpp/src/jvm/dispatcher.cpp): empty
        // strings become null, frames are formatted alike, and a crash frame without a module has
        // offset 0.
        List<String> frameText = new ArrayList<>();
        for (NativeFrame frame : frames) {
            frameText.add(formatFrame(frame));
        }
        this.event = new CrashEvent(origin, kind, code, faultAddress, pc, emptyToNull(module),
                module == null || moduleOffset == null ? 0 : moduleOffset, emptyToNull(symbol),
                emptyToNull(threadName), Boolean.TRUE.equals(javaThreadKnown), emptyToNull(nativeMethod),
                stack.toArray(new StackTraceElement[0]), frameText, emptyToNull(signature), file,
                timestamp, context, breadcrumbs, threadCalls, processCalls);
    }

    private static void readCalls(ReportFields f, String pointer, boolean withThread, long crashingThread,
                                  List<NativeCall> out) throws InvalidCrashReportException {
        int n = f.arraySize(pointer);
        for (int i = 0; i < n; i++) {
            String at = pointer + "/" + i;
            f.object(at);
            int argCount = f.arraySize(at + "/args");
            List<Long> args = new ArrayList<>();
            for (int a = 0; a < argCount; a++) {
                String arg = at + "/args/" + a;
                args.add(f.isNull(arg) ? null : f.int64(arg));
            }
            out.add(new NativeCall(f.textOrNull(at + "/method"), withThread ? f.integer(at + "/thread_id") : crashingThread,
                    f.int64(at + "/time_ns"), args));
        }
    }

    // A field later agents added: absent in earlier reports.
    private static String optionalText(ReportFields f, String pointer) throws InvalidCrashReportException {
        return f.isMissing(pointer) ? null : f.textOrNull(pointer);
    }

    /**
     * Reads and checks a report file.
     *
     * <p>Only a regular file is read, and only as itself: a symbolic link is refused, not followed
     * (the folders on the way may be links), and so are directories, FIFOs and devices. A file over
     * {@link #MAX_FILE_SIZE} bytes is refused before it is opened. The open and the read wait at
     * most 5 seconds, so a file replaced by a FIFO after it was checked cannot hang the caller. The
     * owner of the file is not checked here; {@link CrashAgent#pendingReports()} also requires
     * that.
     *
     * @throws InvalidCrashReportException when the file is not a report this version can read, or
     *         not a file to read (a link, not a regular file, too large); the message names the
     *         file and the problem and quotes none of the content of a file that is not a report
     * @throws IOException when the file cannot be read at all (missing, no permission)
     * @throws IllegalStateException when Jackson is not on the class path; the message names the
     *         artifact to add
     */
    public static CrashReport read(Path file) throws IOException {
        return read(file, ReportFileReader.STANDARD, false);
    }

    /** {@link #read(Path)} with a given reader; ownOnly also requires a file of the current user that others cannot write. */
    static CrashReport read(Path file, ReportFileReader reader, boolean ownOnly) throws IOException {
        Objects.requireNonNull(file, "file");
        requireJackson();
        return reader.read(file, ownOnly, in -> ReportJson.parse(file, in));
    }

    /**
     * Fails, saying what to add, when Jackson is not on the class path. Called before anything
     * reaches {@link ReportJson}: linking that class without Jackson would throw a bare
     * {@code NoClassDefFoundError} instead.
     */
    static void requireJackson() {
        try {
            Class.forName("com.fasterxml.jackson.databind.json.JsonMapper", false, CrashReport.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("reading crash reports needs Jackson, which is not on the class path: "
                    + "add com.fasterxml.jackson.core:jackson-databind to the application's dependencies "
                    + "(crashagent-api declares it optional because listeners do not need it)", e);
        }
    }

    static String formatFrame(NativeFrame f) {
        StringBuilder s = new StringBuilder();
        boolean inModule = f.module() != null && f.offset() != null;
        if (!inModule && f.jvmCode() != null && !f.jvmCode().isEmpty()) {
            return s.append("[JVM code: ").append(f.jvmCode()).append(']').toString();
        }
        s.append(inModule ? basename(f.module()) : "?");
        s.append("+0x").append(Long.toHexString(inModule ? f.offset() : f.pc()));
        if (f.symbol() != null && !f.symbol().isEmpty()) {
            s.append(" (").append(f.symbol()).append("+0x")
                    .append(Long.toHexString(f.symbolOffset() == null ? 0 : f.symbolOffset())).append(')');
        }
        return s.toString();
    }

    private static String basename(String path) {
        int slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(slash + 1);
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    static String escape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    /** The file this report was read from. */
    public Path file() { return file; }
    /** The crash as the listeners saw it; its {@link CrashEvent#reportFile()} is {@link #file()}. */
    public CrashEvent event() { return event; }
    public int schemaVersion() { return schemaVersion; }
    /** Version of the agent that wrote the report. */
    public String agentVersion() { return agentVersion; }
    /** Process id of the process that crashed. */
    public long pid() { return pid; }
    /** When the crash was captured. */
    public Instant timestamp() { return Instant.ofEpochMilli(event.timestamp()); }
    /** {@code linux-x86_64}, {@code linux-aarch64} or {@code windows-x86_64}. */
    public String platform() { return platform; }
    /**
     * {@code native} for a fault in a library, {@code jvm} for a fatal error of the JVM itself,
     * {@code external} for a signal another process sent (such as {@code kill -SEGV}): nothing in
     * the process failed then, and {@link #senderPid()} names the sender.
     */
    public String origin() { return origin; }
    /**
     * The process that sent the signal, for a signal sent with {@code kill}, {@code tgkill} or
     * {@code sigqueue} (also by the process itself, as {@code abort()} does); empty for a fault.
     */
    public OptionalLong senderPid() { return senderPid == null ? OptionalLong.empty() : OptionalLong.of(senderPid); }
    /** The real user id of {@link #senderPid()}'s process; empty for a fault. */
    public OptionalLong senderUid() { return senderUid == null ? OptionalLong.empty() : OptionalLong.of(senderUid); }
    /** More about the kind, such as {@code SEGV_MAPERR}, or null. */
    public String detail() { return detail; }
    /**
     * What happened, in one sentence of plain words ("null pointer dereference (write)", "abort()
     * called by libfoo.so (SIGABRT)", ...); null in reports of agents that predate it.
     */
    public String diagnosis() { return diagnosis; }
    /** The module that holds the faulting PC itself (may be the C runtime), or null. */
    public String pcModule() { return pcModule; }
    /** Load address of {@link CrashEvent#module()}, or null. */
    public Long moduleBase() { return moduleBase; }
    /** OS thread id of the crashing thread. */
    public long threadId() { return threadId; }
    /** The crashing thread's OS-level name, or null. */
    public String nativeThreadName() { return nativeThreadName; }
    /** True or false when the agent knew whether the thread is a Java thread, null when it did not. */
    public Boolean javaThread() { return javaThreadKnown; }
    /** Java thread state at the crash, such as {@code in native}, or null. */
    public String threadState() { return threadState; }
    /** Why there is no Java stack, when there is none; otherwise null. */
    public String javaStackNote() { return javaStackNote; }
    /** Native frames with their raw fields; {@link CrashEvent#nativeFrames()} has them as text. */
    public List<NativeFrame> nativeFrames() { return frames; }
    /** CPU registers at the fault, by name, in the report's order. */
    public Map<String, Long> registers() { return registers; }
    /** Loaded code modules at the time of the crash. */
    public List<Module> modules() { return modules; }
    /** {@code java.vm.version} style string of the crashed JVM, or null. */
    public String jvmVersion() { return jvmVersion; }
    /** Where HotSpot writes (or wrote) its hs_err file for this crash, or null when none is expected. */
    public Path hsErrFile() { return hsErrFile; }
    /** The readable form of the signature: the module+offset and Java frames it was computed from. */
    public String signatureText() { return signatureText; }
    public DispatchStatus dispatchStatus() { return dispatchStatus; }
    /** The listeners' time budget (agent option {@code timeout}). */
    public long dispatchTimeoutMillis() { return dispatchTimeoutMillis; }
    /** One entry per listener that started, in the order they ran. */
    public List<ListenerOutcome> listenerOutcomes() { return listenerOutcomes; }
    /** Other threads that crashed meanwhile; usually empty. */
    public List<OtherCrash> otherCrashes() { return otherCrashes; }
    /** The human-readable agent log next to the report, or null. */
    public Path logFile() { return logFile; }
    /** Windows, with the agent option {@code minidump=true}: the minidump of the crash; otherwise null. */
    public Path minidumpFile() { return minidumpFile; }
    /**
     * The report directory the agent was configured with (option {@code dir}), or null for reports
     * of agents that predate it. When that directory was not writable at crash time the files are
     * in the temp directory instead, and {@link #note()} says so.
     */
    public Path reportDirectory() { return reportDirectory; }
    /** Anything the agent wants the reader to know (for example a fallback directory), or null. */
    public String note() { return note; }

    @Override
    public String toString() {
        return "CrashReport{" + file + ", pid=" + pid + ", " + event + ", dispatch=" + dispatchStatus + "}";
    }
}
