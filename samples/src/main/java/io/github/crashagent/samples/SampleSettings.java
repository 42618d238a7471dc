// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import java.nio.file.Path;

/** Settings of the integration samples, from the environment or system properties. */
final class SampleSettings {
    private SampleSettings() {}

    /** The environment variable, else the system property, else null. */
    static String setting(String variable, String property) {
        String value = System.getenv(variable);
        if (value == null || value.isBlank()) {
            value = System.getProperty(property);
        }
        return value == null || value.isBlank() ? null : value;
    }

    /** The report directory to read when run without the agent, or null for the agent's own. */
    static Path reportDirectory() {
        String dir = setting("CRASHAGENT_REPORT_DIR", "crashagent.reportDir");
        return dir == null ? null : Path.of(dir);
    }

    static String version() {
        String v = SampleSettings.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
