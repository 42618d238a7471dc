package io.github.crashagent.log4j2.testapp;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.log4j2.Log4j2CrashListener;
import io.github.crashagent.testapp.CrashNative;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.filter.AbstractFilter;
import org.apache.logging.log4j.core.filter.AbstractFilterable;

/**
 * {@code LogThenCrash <with|without> <lines>}: logs lines through the AsyncAppender of
 * log4j2-crash-test.xml, then crashes in JNI code, with or without {@link Log4j2CrashListener}.
 */
public final class LogThenCrash {
    private LogThenCrash() {}

    /**
     * Simulated slow storage (a busy disk, a network file system): every write to the file takes
     * this long, so the async queue is not empty when the crash comes, as in a busy application.
     */
    static final class SlowStorage extends AbstractFilter {
        private final long nanos;

        SlowStorage(Duration perWrite) {
            this.nanos = perWrite.toNanos();
        }

        @Override
        public Filter.Result filter(LogEvent event) {
            LockSupport.parkNanos(nanos);
            return Filter.Result.NEUTRAL;
        }
    }

    public static void main(String[] args) {
        boolean integration = args[0].equals("with");
        int lines = Integer.parseInt(args[1]);
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        ((AbstractFilterable) context.getConfiguration().getAppender("file"))
                .addFilter(new SlowStorage(Duration.ofMillis(50)));
        if (integration) {
            Log4j2CrashListener.install();
        }
        System.out.println("agent active: " + CrashAgent.isActive() + ", integration: " + integration);
        Logger log = LogManager.getLogger("app");
        for (int i = 1; i <= lines; i++) {
            log.info("work item {} done", i);
        }
        log.warn("last line before the crash");
        CrashNative.nullWrite();
    }
}
