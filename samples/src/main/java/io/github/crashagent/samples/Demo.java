// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashListener;
import io.github.crashagent.CrashReport;
import io.github.crashagent.log4j2.Log4j2CrashListener;
import io.github.crashagent.samples.javacpp.Fragile;
import java.io.IOException;
import java.util.Map;
import java.util.TreeSet;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A small application that crashes in native code: {@code Demo <fault>}. It registers a listener
 * of its own and the Log4j2 integration, logs a few lines through Log4j2's AsyncAppender
 * (log4j2.xml), then runs the fault. Run it with the agent, for example through
 * {@code bash samples/demo.sh}.
 */
public final class Demo {
    private static final Logger LOG = LogManager.getLogger(Demo.class);

    static final Map<String, Runnable> FAULTS = Map.of(
            "javacpp", Demo::javacppRegistry,
            "null-write", NativeFaults::nullWrite,
            "abort", NativeFaults::abortNow,
            "divide-by-zero", NativeFaults::divideByZero,
            "illegal-instruction", NativeFaults::illegalInstruction,
            "bad-call", NativeFaults::badCall,
            "double-free", NativeFaults::doubleFree,
            "cpp-exception", NativeFaults::uncaughtCppException,
            "own-thread", NativeFaults::crashOnOwnThread);

    private Demo() {}

    public static void main(String[] args) throws IOException {
        String fault = args.length > 0 ? args[0] : "javacpp";
        Runnable crash = FAULTS.get(fault);
        if (crash == null) {
            System.err.println("usage: Demo <fault>; faults: " + new TreeSet<>(FAULTS.keySet()));
            System.exit(2);
        }
        System.out.println("crashagent active: " + CrashAgent.isActive()
                + CrashAgent.reportDirectory().map(d -> ", reports go to " + d).orElse(""));
        for (CrashReport earlier : CrashAgent.pendingReports()) {
            System.out.println("an earlier run crashed: " + earlier.event().kind() + " in " + earlier.event().module()
                    + " (" + earlier.file() + "); acknowledging it");
            CrashAgent.acknowledge(earlier);
        }

        // The application's own listener: quick, no locks, no native calls.
        CrashAgent.addListener(new ConsoleListener());
        // Last, because logging is off once it has flushed and stopped Log4j2.
        Log4j2CrashListener.install();

        // What the application is doing, for the report: it survives the crash without a listener.
        CrashAgent.putContext("fault", fault);
        for (int order = 1; order <= 5; order++) {
            CrashAgent.putContext("order", Integer.toString(order));
            CrashAgent.breadcrumb("processed order " + order);
            LOG.info("processed order {}", order);
        }
        LOG.warn("about to call native code: {}", fault);
        crash.run();
        System.out.println("no crash");
    }

    /** Prints the crash to stderr. */
    static final class ConsoleListener implements CrashListener {
        @Override
        public void onCrash(CrashEvent e) {
            System.err.println("[listener] " + e.kind() + " in " + e.module() + " +0x" + Long.toHexString(e.moduleOffset())
                    + " (" + e.symbol() + "), thread \"" + e.threadName() + "\", native method " + e.nativeMethod()
                    + ", report " + e.reportFile());
        }
    }

    static void javacppRegistry() {
        Fragile.Registry registry = new Fragile.Registry();
        LOG.info("registry has {} records", registry.count());
        LOG.info("length of the first name: {}", registry.nameLength(0));
    }
}
