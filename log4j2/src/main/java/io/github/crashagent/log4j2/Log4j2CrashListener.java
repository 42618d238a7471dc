// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashListener;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.impl.Log4jContextFactory;
import org.apache.logging.log4j.message.StringMapMessage;

/**
 * Logs a native crash at FATAL, then flushes and stops Log4j2, so that the lines the application
 * logged just before the crash reach disk. Without it, lines still queued in an
 * {@code AsyncAppender} or in async loggers, or held in an appender's buffer, die with the process.
 *
 * <pre>{@code Log4j2CrashListener.install();}</pre>
 *
 * <p>The FATAL event carries a {@link StringMapMessage} with the fields {@code message},
 * {@code crash.kind}, {@code crash.code}, {@code crash.pc}, {@code crash.fault_address},
 * {@code crash.module}, {@code crash.module_offset}, {@code crash.symbol}, {@code crash.thread},
 * {@code crash.java_thread}, {@code crash.native_method}, {@code crash.signature} and
 * {@code crash.report} (absent when unknown), and the crashed thread's Java stack as its
 * throwable, so layouts print it like an exception's stack trace.
 *
 * <p>Stopping the logger contexts waits at most the stop timeout (default 3 s), also when an
 * appender hangs. Keep the agent's {@code timeout} option larger than that plus the time your
 * other listeners need. Add this listener last: logging is off once it returned.
 */
public final class Log4j2CrashListener implements CrashListener {
    /** Name of the logger the crash is logged to by default. */
    public static final String LOGGER_NAME = "io.github.crashagent";
    /** How long stopping Log4j2 may take by default. */
    public static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(3);

    private final Logger logger;
    private final Duration stopTimeout;

    /** Logs to {@link #LOGGER_NAME} and stops Log4j2 within {@link #DEFAULT_STOP_TIMEOUT}. */
    public Log4j2CrashListener() {
        this(LogManager.getLogger(LOGGER_NAME), DEFAULT_STOP_TIMEOUT);
    }

    public Log4j2CrashListener(Logger logger, Duration stopTimeout) {
        this.logger = Objects.requireNonNull(logger, "logger");
        this.stopTimeout = Objects.requireNonNull(stopTimeout, "stopTimeout");
        if (stopTimeout.isNegative() || stopTimeout.isZero()) {
            throw new IllegalArgumentException("stopTimeout must be positive, not " + stopTimeout);
        }
    }

    /** Creates a listener with the defaults and registers it with {@link CrashAgent#addListener}. */
    public static Log4j2CrashListener install() {
        Log4j2CrashListener listener = new Log4j2CrashListener();
        CrashAgent.addListener(listener);
        return listener;
    }

    @Override
    public void onCrash(CrashEvent event) {
        try {
            logger.fatal(message(event), new CrashedThreadStack(event));
        } finally {
            if (!stopLogging(stopTimeout)) {
                throw new IllegalStateException("Log4j2 did not stop within " + stopTimeout.toMillis()
                        + " ms; lines may be lost");
            }
        }
    }

    /** The structured FATAL message for a crash. */
    static StringMapMessage message(CrashEvent e) {
        StringMapMessage m = new StringMapMessage();
        m.with("message", "native crash: " + e.kind() + " in " + where(e) + " on thread \"" + e.threadName() + "\"");
        m.with("crash.kind", e.kind());
        m.with("crash.code", Long.toString(e.code()));
        m.with("crash.pc", "0x" + Long.toHexString(e.pc()));
        m.with("crash.fault_address", "0x" + Long.toHexString(e.faultAddress()));
        putIfKnown(m, "crash.module", e.module());
        if (e.module() != null) {
            m.with("crash.module_offset", "0x" + Long.toHexString(e.moduleOffset()));
        }
        putIfKnown(m, "crash.symbol", e.symbol());
        putIfKnown(m, "crash.thread", e.threadName());
        m.with("crash.java_thread", Boolean.toString(e.javaThread()));
        putIfKnown(m, "crash.native_method", e.nativeMethod());
        putIfKnown(m, "crash.signature", e.signature());
        putIfKnown(m, "crash.report", e.reportFile() == null ? null : e.reportFile().toString());
        return m;
    }

    private static String where(CrashEvent e) {
        if (e.module() == null) {
            return "unknown code at 0x" + Long.toHexString(e.pc());
        }
        int slash = Math.max(e.module().lastIndexOf('/'), e.module().lastIndexOf('\\'));
        return e.module().substring(slash + 1) + "+0x" + Long.toHexString(e.moduleOffset())
                + (e.symbol() == null ? "" : " (" + e.symbol() + ")");
    }

    private static void putIfKnown(StringMapMessage m, String key, String value) {
        if (value != null) {
            m.with(key, value);
        }
    }

    /**
     * Stops every Log4j2 logger context, which drains async appenders and async loggers and
     * flushes and closes the appenders. Runs on its own daemon thread so that a hanging appender
     * cannot hold the caller longer than the timeout.
     *
     * @return true when logging stopped within the timeout
     */
    static boolean stopLogging(Duration timeout) {
        Thread stopper = new Thread(() -> stopAllContexts(timeout), "crashagent-log4j2-stop");
        stopper.setDaemon(true);
        stopper.start();
        try {
            stopper.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !stopper.isAlive();
    }

    private static void stopAllContexts(Duration timeout) {
        try {
            if (Core.stopAll(timeout)) {
                return;
            }
        } catch (LinkageError noLog4jCore) {
            // log4j-core is not there: the Log4j API routes to another backend
        }
        LogManager.shutdown();
    }

    /** The part that needs log4j-core, in a class of its own so that it loads only when used. */
    private static final class Core {
        static boolean stopAll(Duration timeout) {
            if (!(LogManager.getFactory() instanceof Log4jContextFactory factory)) {
                return false;
            }
            for (LoggerContext context : factory.getSelector().getLoggerContexts()) {
                context.stop(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            return true;
        }
    }

    /** Carries the crashed thread's Java stack into the log event. Not an exception that was thrown. */
    static final class CrashedThreadStack extends Throwable {
        private static final long serialVersionUID = 1L;

        CrashedThreadStack(CrashEvent e) {
            super("Java stack of thread \"" + e.threadName() + "\" at the native crash"
                    + (e.nativeMethod() == null ? "" : " in " + e.nativeMethod()), null, false, true);
            setStackTrace(e.javaStackTrace());
        }
    }
}
