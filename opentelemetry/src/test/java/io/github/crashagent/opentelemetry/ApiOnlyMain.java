// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;

/**
 * An application with the OpenTelemetry API alone (no SDK on its class path) that calls the
 * exporter: prints what the call did. Refers to no SDK type.
 */
public final class ApiOnlyMain {
    private ApiOnlyMain() {}

    public static void main(String[] args) throws Exception {
        CrashReportExporter.Summary summary = new CrashReportExporter().exportPending(OpenTelemetry.noop(), Path.of(args[0]));
        System.out.println("exported " + summary.exported().size() + ", left pending " + summary.leftPending().size());
    }
}
