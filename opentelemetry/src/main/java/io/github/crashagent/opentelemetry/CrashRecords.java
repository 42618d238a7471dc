// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.github.crashagent.Breadcrumb;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.NativeCall;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.logs.LogRecordBuilder;
import io.opentelemetry.api.logs.Severity;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Turns a crash report into the attributes of its {@code app.crash} log record. */
final class CrashRecords {
    static final String EVENT_NAME = "app.crash";
    static final String CRASH_ID = "app.crash.id";
    static final String CONTEXT_PREFIX = "app.context.";
    static final String BREADCRUMBS = "crashagent.breadcrumbs";
    static final String NATIVE_CALLS = "crashagent.native_calls";

    private CrashRecords() {}

    /**
     * A stable id of the crash: the name-based UUID ({@link UUID#nameUUIDFromBytes}, RFC 4122
     * version 3) of {@code crashagent/<pid>/<timestamp_ms>/<signature>}. Every process that reads
     * the same report derives the same id, so a backend can drop a record sent twice.
     */
    static String crashId(CrashReport report) {
        CrashEvent crash = report.event();
        String name = "crashagent/" + report.pid() + "/" + crash.timestamp() + "/"
                + (crash.signature() == null ? "" : crash.signature());
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    static void fill(LogRecordBuilder record, CrashReport report, String crashId) {
        CrashEvent crash = report.event();
        record.setEventName(EVENT_NAME);
        record.setTimestamp(report.timestamp());
        record.setObservedTimestamp(Instant.now());
        record.setSeverity(Severity.FATAL);
        record.setSeverityText("FATAL");
        record.setBody(summary(report));

        record.setAttribute(CRASH_ID, crashId);
        record.setAttribute("exception.type", crash.kind());
        record.setAttribute("exception.message", message(report));
        record.setAttribute("exception.stacktrace", stackTrace(report));
        // The crashed process, not this one: the record's resource describes the reporter.
        record.setAttribute("process.pid", report.pid());
        put(record, "process.runtime.description", report.jvmVersion());
        record.setAttribute("os.type", report.platform() != null && report.platform().startsWith("windows")
                ? "windows" : "linux");
        record.setAttribute("thread.id", report.threadId());
        put(record, "thread.name", crash.threadName());

        put(record, "crashagent.signature", crash.signature());
        put(record, "crashagent.origin", report.origin());
        put(record, "crashagent.diagnosis", report.diagnosis());
        put(record, "crashagent.module", crash.module());
        put(record, "crashagent.build_id", moduleBuildId(report, crash.module()));
        put(record, "crashagent.native_method", crash.nativeMethod());
        put(record, "crashagent.report", report.file().toString());
        Path hsErr = report.hsErrFile();
        put(record, "crashagent.hs_err", hsErr == null ? null : hsErr.toString());
        put(record, "crashagent.agent_version", report.agentVersion());

        // What the application recorded with CrashAgent.putContext and breadcrumb.
        for (Map.Entry<String, String> entry : crash.context().entrySet()) {
            record.setAttribute(AttributeKey.stringKey(CONTEXT_PREFIX + entry.getKey()), entry.getValue());
        }
        if (!crash.breadcrumbs().isEmpty()) {
            List<String> lines = new ArrayList<>();
            for (Breadcrumb b : crash.breadcrumbs()) {
                lines.add(breadcrumbLine(b));
            }
            record.setAttribute(AttributeKey.stringArrayKey(BREADCRUMBS), lines);
        }
        // native-calls=: the crashing thread's last JNI calls.
        if (!crash.nativeCalls().isEmpty()) {
            List<String> calls = new ArrayList<>();
            for (NativeCall c : crash.nativeCalls()) {
                calls.add(nativeCallLine(c));
            }
            record.setAttribute(AttributeKey.stringArrayKey(NATIVE_CALLS), calls);
        }
    }

    /** One native call as {@code <ms relative to the crash> ms <method> <arguments>}, oldest first. */
    static String nativeCallLine(NativeCall c) {
        return String.format(java.util.Locale.ROOT, "%+.3f ms %s %s", c.timeNanos() / 1e6, c.method(), c.arguments());
    }

    /** One breadcrumb as {@code <ISO-8601 time> [<thread>] <message>}, oldest first in the attribute. */
    static String breadcrumbLine(Breadcrumb b) {
        return Instant.ofEpochMilli(b.timestamp()) + " [" + b.threadName() + "] " + b.message();
    }

    /** One line for the body: kind, what happened, where. */
    static String summary(CrashReport report) {
        CrashEvent crash = report.event();
        StringBuilder s = new StringBuilder(crash.kind()).append(": ").append(message(report));
        if (crash.module() != null) {
            s.append(" in ").append(basename(crash.module()));
        }
        if (crash.nativeMethod() != null) {
            s.append(" (native method ").append(crash.nativeMethod()).append(')');
        }
        return s.toString();
    }

    static String message(CrashReport report) {
        return report.diagnosis() != null ? report.diagnosis() : report.event().kind();
    }

    /**
     * The crash as a Java-style stack trace: {@code <kind>: <message>}, then the native frames
     * innermost first, then the crashing thread's Java frames.
     */
    static String stackTrace(CrashReport report) {
        CrashEvent crash = report.event();
        StringBuilder s = new StringBuilder(crash.kind()).append(": ").append(message(report)).append('\n');
        List<String> nativeFrames = crash.nativeFrames();
        for (String frame : nativeFrames) {
            s.append("\tat ").append(frame).append('\n');
        }
        for (StackTraceElement frame : crash.javaStackTrace()) {
            s.append("\tat ").append(frame).append('\n');
        }
        return s.toString();
    }

    /** The build-id of the module a crash is in, by path; null on Windows or when the module has none. */
    static String moduleBuildId(CrashReport report, String modulePath) {
        if (modulePath == null) {
            return null;
        }
        for (CrashReport.Module m : report.modules()) {
            if (m.path().equals(modulePath)) {
                return m.buildId();
            }
        }
        return null;
    }

    private static String basename(String path) {
        int slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(slash + 1);
    }

    private static void put(LogRecordBuilder record, String key, String value) {
        if (value != null && !value.isEmpty()) {
            record.setAttribute(key, value);
        }
    }
}
