// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import io.github.crashagent.sentry.CrashAgentIntegration;
import io.sentry.Sentry;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Sends the crash reports earlier runs left behind to Sentry, the way an application does it at
 * start: {@code Sentry.init} with {@link CrashAgentIntegration}. The DSN comes from the environment
 * variable {@code SENTRY_DSN} (or the property {@code sentry.dsn}); the reports from the agent's
 * report directory, or from the directory named by {@code CRASHAGENT_REPORT_DIR} (or the property
 * {@code crashagent.reportDir}) when run without the agent. See docs/java-api.md, "Sentry".
 */
public final class SentrySample {
    private SentrySample() {}

    public static void main(String[] args) throws Exception {
        String dsn = SampleSettings.setting("SENTRY_DSN", "sentry.dsn");
        if (dsn == null) {
            System.err.println("SentrySample: set SENTRY_DSN (or -Dsentry.dsn) to the project's DSN, "
                    + "for example https://<key>@o0.ingest.sentry.io/<project>");
            System.exit(2);
        }
        Path dir = SampleSettings.reportDirectory();
        CrashAgentIntegration crashes = dir == null ? new CrashAgentIntegration() : new CrashAgentIntegration(dir);
        Sentry.init(options -> {
            options.setDsn(dsn);
            options.setRelease("crashagent-samples@" + SampleSettings.version());
            options.addIntegration(crashes);
        });
        try {
            // An application would go on with its work here; the sample only waits for the reports.
            CrashAgentIntegration.Summary summary = crashes.lastRun().get(60, TimeUnit.SECONDS);
            System.out.println("sent " + summary.sent().size() + ", left pending " + summary.leftPending().size()
                    + ", rejected " + summary.rejected().size() + ", skipped " + summary.skipped().size());
            summary.sent().forEach(f -> System.out.println("sent " + f));
        } finally {
            Sentry.close();
        }
    }
}
