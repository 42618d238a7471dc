// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2.testapp;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.log4j2.Log4j2CrashListener;
import io.github.crashagent.testapp.CrashNative;
import java.util.concurrent.CountDownLatch;
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
     * Storage that has fallen behind (a busy disk, a network file system): writes to the file stall
     * until Log4j2 shuts down, so the async queue is certainly not empty when the crash comes, as in
     * a busy application. Whether those lines reach disk then depends only on whether somebody shuts
     * Log4j2 down before the JVM dies, which is what the test compares.
     */
    static final class StalledStorage extends AbstractFilter {
        private final CountDownLatch shutdown = new CountDownLatch(1);

        void shutdownStarted() {
            shutdown.countDown();
        }

        @Override
        public Filter.Result filter(LogEvent event) {
            boolean interrupted = false;
            while (true) {
                try {
                    shutdown.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            return Filter.Result.NEUTRAL;
        }
    }

    public static void main(String[] args) {
        boolean integration = args[0].equals("with");
        int lines = Integer.parseInt(args[1]);
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        StalledStorage storage = new StalledStorage();
        ((AbstractFilterable) context.getConfiguration().getAppender("file")).addFilter(storage);
        // Stopping a LoggerContext swaps its configuration out before it drains the appenders.
        context.addPropertyChangeListener(change -> storage.shutdownStarted());
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
