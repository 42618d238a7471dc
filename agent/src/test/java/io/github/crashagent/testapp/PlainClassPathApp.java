// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashListener;
import io.github.crashagent.CrashReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs with nothing but crashagent-api and the test classes on the class path, no Jackson:
 * {@code PlainClassPathApp crash} registers a listener and crashes in JNI;
 * {@code PlainClassPathApp read <report> <directory>} tries each way of reading reports and
 * prints what it threw. No lambdas, so that whatever the API loads shows up on its own.
 */
public final class PlainClassPathApp {
    private PlainClassPathApp() {}

    /** Writes what it got to listener-ran.txt in the working directory. */
    public static final class MarkerListener implements CrashListener {
        @Override
        public void onCrash(CrashEvent event) {
            String text = "kind=" + event.kind() + "\nnativeMethod=" + event.nativeMethod() + "\n";
            try {
                Files.writeString(Path.of("listener-ran.txt"), text, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "crash" -> {
                CrashAgent.addListener(new MarkerListener());
                System.out.println("agent active: " + CrashAgent.isActive()
                        + ", report directory: " + CrashAgent.reportDirectory().orElse(null));
                CrashNative.nullWrite();
            }
            case "read" -> {
                Path report = Path.of(args[1]);
                Path directory = Path.of(args[2]);
                try {
                    CrashReport.read(report);
                    System.out.println("read: no exception");
                } catch (IllegalStateException e) {
                    System.out.println("read: " + e.getMessage());
                }
                try {
                    CrashAgent.pendingReports(directory);
                    System.out.println("pendingReports(dir): no exception");
                } catch (IllegalStateException e) {
                    System.out.println("pendingReports(dir): " + e.getMessage());
                }
                try {
                    CrashAgent.pendingReports();
                    System.out.println("pendingReports(): no exception");
                } catch (IllegalStateException e) {
                    System.out.println("pendingReports(): " + e.getMessage());
                }
            }
            default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
        }
    }
}
