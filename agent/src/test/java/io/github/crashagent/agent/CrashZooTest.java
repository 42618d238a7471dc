// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.agent.ChildJvm.Result;
import io.github.crashagent.agent.CrashZoo.CrashCase;
import io.github.crashagent.agent.CrashZoo.QuietCase;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each zoo case once, on every JDK: exactly one complete report that passes the schema, the right
 * kind, module, native method and Java frames, hs_err where HotSpot writes one, the exit status
 * of the run without the agent, and an end within CrashZoo.BOUND. The quiet cases produce no
 * report and the same output. ZooSoak runs the same matrix many times.
 */
@EnabledOnOs(OS.LINUX)
class CrashZooTest {
    static Stream<Arguments> crashCases() throws Exception {
        List<Path> jdks = ChildJvm.jdks().toList();
        return CrashZoo.crashCases().stream().flatMap(c -> jdks.stream().map(j -> Arguments.of(c, j)));
    }

    static Stream<Arguments> quietCases() throws Exception {
        List<Path> jdks = ChildJvm.jdks().toList();
        return CrashZoo.quietCases().stream().flatMap(q -> jdks.stream().map(j -> Arguments.of(q, j)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("crashCases")
    void crashIsReportedCompletelyAndEndsAsWithoutTheAgent(CrashCase c, Path jdk) throws Exception {
        Result plain = ChildJvm.run(jdk, c.name() + "-plain", null, CrashZoo.BOUND, List.of(), c.appArgs());
        CrashZoo.Outcome outcome = CrashZoo.checkCrash(jdk, c, plain);
        assertTrue(outcome.problems().isEmpty(), () -> c.name() + ": " + String.join("\n", outcome.problems()));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("quietCases")
    void faultsTheJvmOrALibraryHandlesAreNotReported(QuietCase q, Path jdk) throws Exception {
        List<String> problems = CrashZoo.checkQuiet(jdk, q);
        assertTrue(problems.isEmpty(), () -> q.name() + ": " + String.join("\n", problems));
    }
}
