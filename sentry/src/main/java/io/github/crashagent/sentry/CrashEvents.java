// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.NativeCall;
import io.sentry.Breadcrumb;
import io.sentry.SentryEvent;
import io.sentry.SentryLevel;
import io.sentry.SentryOptions;
import io.sentry.protocol.DebugImage;
import io.sentry.protocol.DebugMeta;
import io.sentry.protocol.Mechanism;
import io.sentry.protocol.OperatingSystem;
import io.sentry.protocol.SentryException;
import io.sentry.protocol.SentryRuntime;
import io.sentry.protocol.SentryStackFrame;
import io.sentry.protocol.SentryStackTrace;
import io.sentry.protocol.SentryThread;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Turns a crash report into the Sentry event that describes it. */
final class CrashEvents {
    /** Mechanism of a POSIX signal, as sentry-native names it for crashes caught by its signal handler. */
    static final String MECHANISM_SIGNAL = "signalhandler";
    /** Mechanism of a Windows structured exception, as sentry-native names it for crashes its unhandled-exception filter caught. */
    static final String MECHANISM_WINDOWS = "UnhandledExceptionFilter";
    /** Mechanism of the second exception, which carries the crashing thread's Java stack. */
    static final String MECHANISM_JAVA_STACK = "crashagent.java_stack";
    /** Name of the Sentry context that holds the report's {@code context} (CrashAgent.putContext). */
    static final String APP_CONTEXT = "app_context";
    /** Category of the Sentry breadcrumbs made from the report's {@code breadcrumbs}. */
    static final String BREADCRUMB_CATEGORY = "crashagent";
    /** Category of the Sentry breadcrumbs made from the report's {@code native_calls}. */
    static final String NATIVE_CALL_CATEGORY = "crashagent.native_call";
    /** Sentry limits tag values to 200 characters. */
    private static final int MAX_TAG = 200;

    private CrashEvents() {}

    static boolean isWindows(CrashReport report) {
        return report.platform() != null && report.platform().startsWith("windows");
    }

    static SentryEvent toEvent(CrashReport report, SentryOptions options) {
        CrashEvent crash = report.event();
        SentryEvent event = new SentryEvent(Date.from(report.timestamp()));
        event.setLevel(SentryLevel.FATAL);
        event.setPlatform("native");
        event.setLogger("crashagent");
        if (crash.signature() != null) {
            event.setFingerprints(List.of(crash.signature()));
        }
        event.setRelease(options.getRelease());
        event.setEnvironment(options.getEnvironment());
        event.setDist(options.getDist());
        event.setServerName(options.getServerName());
        event.setSdk(options.getSdkVersion());
        options.getTags().forEach(event::setTag);

        boolean windows = isWindows(report);
        List<SentryException> exceptions = new ArrayList<>();
        SentryException nativeException = new SentryException();
        nativeException.setType(crash.kind());
        nativeException.setValue(report.diagnosis() != null ? report.diagnosis() : crash.kind());
        nativeException.setThreadId(report.threadId());
        Mechanism mechanism = new Mechanism();
        mechanism.setType(windows ? MECHANISM_WINDOWS : MECHANISM_SIGNAL);
        mechanism.setHandled(false);
        Map<String, Object> meta = new LinkedHashMap<>();
        if (windows) {
            // Sentry's mechanism meta has fields for POSIX signals, Mach exceptions and errno only,
            // and its event schema allows no others (relay/event.schema.json of
            // getsentry/sentry-data-schemas): the Windows exception code goes into data.
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("exception_code", "0x" + Long.toHexString(crash.code() & 0xffffffffL));
            mechanism.setData(data);
        } else {
            Map<String, Object> signal = new LinkedHashMap<>();
            signal.put("number", crash.code());
            signal.put("name", crash.kind());
            if (report.detail() != null) {
                signal.put("code_name", report.detail());
            }
            meta.put("signal", signal);
        }
        if (!meta.isEmpty()) {
            mechanism.setMeta(meta);
        }
        nativeException.setMechanism(mechanism);
        nativeException.setStacktrace(nativeStack(report));

        StackTraceElement[] java = crash.javaStackTrace();
        if (java.length > 0) {
            // The Java code that called into the crashing library: a second exception, first in
            // the list because Sentry lists the outermost cause first and shows the last as the main one.
            SentryException javaException = new SentryException();
            javaException.setType("JavaStack");
            javaException.setValue("Java stack of thread \"" + crash.threadName() + "\""
                    + (crash.nativeMethod() != null ? " in native method " + crash.nativeMethod() : ""));
            javaException.setThreadId(report.threadId());
            Mechanism javaMechanism = new Mechanism();
            javaMechanism.setType(MECHANISM_JAVA_STACK);
            javaMechanism.setHandled(false);
            javaMechanism.setSynthetic(true);
            javaException.setMechanism(javaMechanism);
            javaException.setStacktrace(javaStack(java));
            exceptions.add(javaException);
        }
        exceptions.add(nativeException);
        event.setExceptions(exceptions);

        SentryThread thread = new SentryThread();
        thread.setId(report.threadId());
        thread.setName(crash.threadName());
        thread.setCrashed(true);
        thread.setCurrent(true);
        thread.setState(report.threadState());
        event.setThreads(List.of(thread));

        event.setDebugMeta(debugMeta(report, windows));

        setTag(event, "crashagent.signature", crash.signature());
        setTag(event, "crashagent.native_method", crash.nativeMethod());
        setTag(event, "crashagent.origin", report.origin());
        setTag(event, "crashagent.kind", crash.kind());

        OperatingSystem os = new OperatingSystem();
        os.setName(windows ? "Windows" : "Linux");
        os.setRawDescription(report.platform());
        event.getContexts().setOperatingSystem(os);
        if (report.jvmVersion() != null) {
            SentryRuntime runtime = new SentryRuntime();
            runtime.setName("Java");
            runtime.setVersion(report.jvmVersion());
            runtime.setRawDescription(report.jvmVersion());
            event.getContexts().setRuntime(runtime);
        }
        Map<String, Object> context = new LinkedHashMap<>();
        context.put("pid", report.pid());
        context.put("thread_id", report.threadId());
        put(context, "thread_name", crash.threadName());
        put(context, "native_thread_name", report.nativeThreadName());
        put(context, "thread_state", report.threadState());
        put(context, "jvm_version", report.jvmVersion());
        put(context, "platform", report.platform());
        put(context, "origin", report.origin());
        put(context, "signature", crash.signature());
        put(context, "signature_text", report.signatureText());
        put(context, "native_method", crash.nativeMethod());
        put(context, "diagnosis", report.diagnosis());
        put(context, "detail", report.detail());
        if (crash.hasFaultAddress()) {
            context.put("fault_address", hex(crash.faultAddress()));
        }
        context.put("pc", hex(crash.pc()));
        put(context, "agent_version", report.agentVersion());
        context.put("dispatch_status", report.dispatchStatus().name().toLowerCase(Locale.ROOT));
        put(context, "note", report.note());
        context.put("report", report.file().toString());
        event.getContexts().put("crashagent", context);
        // CrashAgent.putContext: a context of its own, key by key.
        if (!crash.context().isEmpty()) {
            event.getContexts().put(APP_CONTEXT, new LinkedHashMap<String, Object>(crash.context()));
        }
        // CrashAgent.breadcrumb: Sentry breadcrumbs, oldest first, as Sentry orders them.
        List<Breadcrumb> breadcrumbs = new ArrayList<>();
        for (io.github.crashagent.Breadcrumb b : crash.breadcrumbs()) {
            Breadcrumb breadcrumb = new Breadcrumb(new Date(b.timestamp()));
            breadcrumb.setType("default");
            breadcrumb.setCategory(BREADCRUMB_CATEGORY);
            breadcrumb.setLevel(SentryLevel.INFO);
            breadcrumb.setMessage(b.message());
            breadcrumb.setData("thread", b.threadName());
            breadcrumb.setData("java_thread_id", b.javaThreadId());
            breadcrumbs.add(breadcrumb);
        }
        // native-calls=: the crashing thread's last JNI calls, among them by time.
        for (NativeCall call : crash.nativeCalls()) {
            Breadcrumb breadcrumb = new Breadcrumb(new Date(crash.timestamp() + Math.floorDiv(call.timeNanos(), 1_000_000L)));
            breadcrumb.setType("debug");
            breadcrumb.setCategory(NATIVE_CALL_CATEGORY);
            breadcrumb.setLevel(SentryLevel.DEBUG);
            breadcrumb.setMessage(call.method());
            breadcrumb.setData("arguments", call.arguments());
            breadcrumb.setData("time_ns", call.timeNanos());
            breadcrumbs.add(breadcrumb);
        }
        breadcrumbs.sort(Comparator.comparing(Breadcrumb::getTimestamp));
        if (!breadcrumbs.isEmpty()) {
            event.setBreadcrumbs(breadcrumbs);
        }
        return event;
    }

    /** Native frames, oldest first as Sentry wants them (the report has them innermost first). */
    private static SentryStackTrace nativeStack(CrashReport report) {
        List<SentryStackFrame> frames = new ArrayList<>();
        List<CrashReport.NativeFrame> innermostFirst = report.nativeFrames();
        for (int i = innermostFirst.size() - 1; i >= 0; i--) {
            CrashReport.NativeFrame f = innermostFirst.get(i);
            SentryStackFrame frame = new SentryStackFrame();
            frame.setPlatform("native");
            frame.setInstructionAddr(hex(f.pc()));
            if (f.module() != null) {
                frame.setPackage(f.module());
                CrashReport.Module module = moduleOf(report, f.module(), f.pc());
                if (module != null) {
                    frame.setImageAddr(hex(module.base()));
                }
            }
            if (f.symbol() != null && !f.symbol().isEmpty()) {
                frame.setFunction(f.symbol());
                if (f.symbolOffset() != null) {
                    frame.setSymbolAddr(hex(f.pc() - f.symbolOffset()));
                }
            } else if (f.jvmCode() != null && !f.jvmCode().isEmpty()) {
                frame.setFunction("[JVM code: " + f.jvmCode() + "]");
            }
            frames.add(frame);
        }
        SentryStackTrace stack = new SentryStackTrace(frames);
        // The crash frame's pc is the faulting instruction itself, the others are return addresses:
        // Sentry's default adjustment ("auto") handles exactly that for a crashed thread's stack.
        return stack;
    }

    private static SentryStackTrace javaStack(StackTraceElement[] innermostFirst) {
        List<SentryStackFrame> frames = new ArrayList<>();
        for (int i = innermostFirst.length - 1; i >= 0; i--) {
            StackTraceElement e = innermostFirst[i];
            SentryStackFrame frame = new SentryStackFrame();
            frame.setPlatform("java");
            frame.setModule(e.getClassName());
            frame.setFunction(e.getMethodName());
            frame.setFilename(e.getFileName());
            if (e.getLineNumber() >= 0) {
                frame.setLineno(e.getLineNumber());
            }
            // no "native" flag: Sentry's event schema has no such frame field
            frames.add(frame);
        }
        return new SentryStackTrace(frames);
    }

    private static DebugMeta debugMeta(CrashReport report, boolean windows) {
        List<DebugImage> images = new ArrayList<>();
        for (CrashReport.Module m : report.modules()) {
            DebugImage image = new DebugImage();
            image.setCodeFile(m.path());
            image.setImageAddr(hex(m.base()));
            image.setImageSize(m.end() - m.base());
            image.setArch("linux-aarch64".equals(report.platform()) ? "arm64" : "x86_64");  // Sentry's names
            if (windows) {
                // code_id is already Sentry's PE code id (<TimeDateStamp %08X><SizeOfImage %x>);
                // debug_id and debug_file come from the CodeView record, when the image has one.
                image.setType("pe");
                image.setCodeId(m.codeId());
                image.setDebugId(DebugIds.fromPdbKey(m.debugId()));
                image.setDebugFile(m.pdbName());
            } else {
                image.setType("elf");
                if (m.buildId() != null) {
                    image.setCodeId(m.buildId());
                    image.setDebugId(DebugIds.fromBuildId(m.buildId()));
                }
            }
            images.add(image);
        }
        DebugMeta meta = new DebugMeta();
        meta.setImages(images);
        return meta;
    }

    private static CrashReport.Module moduleOf(CrashReport report, String path, long pc) {
        CrashReport.Module byPath = null;
        for (CrashReport.Module m : report.modules()) {
            if (pc >= m.base() && pc < m.end()) {
                return m;
            }
            if (byPath == null && m.path().equals(path)) {
                byPath = m;
            }
        }
        return byPath;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static void setTag(SentryEvent event, String key, String value) {
        if (value != null && !value.isEmpty()) {
            event.setTag(key, value.length() > MAX_TAG ? value.substring(0, MAX_TAG - 3) + "..." : value);
        }
    }

    private static void put(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }
}
