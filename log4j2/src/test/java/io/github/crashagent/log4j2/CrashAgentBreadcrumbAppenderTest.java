// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.crashagent.Breadcrumb;
import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The appender in a child JVM that crashes in JNI: WARN and above, and marked events, are breadcrumbs. */
class CrashAgentBreadcrumbAppenderTest {
    @Test
    @EnabledOnOs(OS.LINUX)
    void warningsAndMarkedEventsBecomeBreadcrumbsInTheReport() throws Exception {
        Path config = Path.of(getClass().getResource("/log4j2-breadcrumbs-test.xml").toURI());
        Result r = ChildJvm.builder(Path.of(System.getProperty("java.home")), "log4j2-breadcrumbs")
                .agent("")
                .mainClass("io.github.crashagent.log4j2.testapp.LogBreadcrumbsThenCrash")
                .jvmFlags("-Dlog4j2.configurationFile=" + config)
                .run();
        assertEquals(134, r.exitCode(), r::toString);
        List<Breadcrumb> crumbs = CrashReport.read(r.onlyFile("crashagent_pid", ".json")).event().breadcrumbs();
        assertEquals(List.of("WARN app - disk /data almost full", "INFO app - opened input.bin",
                        "ERROR app - decoder failed, retrying"),
                crumbs.stream().map(Breadcrumb::message).collect(Collectors.toList()), r::toString);
        assertEquals("main", crumbs.get(0).threadName());
    }

    @Test
    void aBadLevelIsAnErrorNamingTheAttribute() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrashAgentBreadcrumbAppender.create("crumbs", "LOUD", null, null));
        assertEquals("CrashAgentBreadcrumbs 'crumbs': attribute 'level' is 'LOUD'; allowed: OFF, FATAL, ERROR, WARN, "
                + "INFO, DEBUG, TRACE, ALL or a custom level (default WARN)", e.getMessage());
    }
}
