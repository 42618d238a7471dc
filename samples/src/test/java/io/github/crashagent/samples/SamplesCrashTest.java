// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.Breadcrumb;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.NativeCall;
import io.github.crashagent.agent.ChildJvm;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The samples crash as documented, and the agent reports each crash in the library that faulted. */
@EnabledOnOs(OS.LINUX)
class SamplesCrashTest {
    private static Result demo(String fault) throws Exception {
        Path dir = ChildJvm.work().resolve("demo-" + fault + "-" + System.nanoTime());
        return ChildJvm.builder(Path.of(System.getProperty("java.home")), "demo-" + fault)
                .dir(dir)
                .agent("native-calls=io.github.crashagent.samples")
                .mainClass(Demo.class.getName())
                .jvmFlags("-Dcrashagent.demoLibrary=" + System.getProperty("crashagent.demoLibrary"),
                        "-Dorg.bytedeco.javacpp.cachedir=" + dir.resolve("javacpp-cache"))
                .args(fault)
                .run();
    }


    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "javacpp,             SIGSEGV, libjniFragile.so, io.github.crashagent.samples.javacpp.Fragile$Registry.nameLength(I)I",
            "null-write,          SIGSEGV, libcrashdemo.so,  io.github.crashagent.samples.NativeFaults.nullWrite()V",
            "divide-by-zero,      SIGFPE,  libcrashdemo.so,  io.github.crashagent.samples.NativeFaults.divideByZero()I",
            "illegal-instruction, SIGILL,  libcrashdemo.so,  io.github.crashagent.samples.NativeFaults.illegalInstruction()V",
            "double-free,         SIGABRT, libcrashdemo.so,  io.github.crashagent.samples.NativeFaults.doubleFree()V",
            "cpp-exception,       SIGABRT, libcrashdemo.so,  io.github.crashagent.samples.NativeFaults.uncaughtCppException()V",
    })
    void theSampleCrashIsReportedInTheLibraryThatFaulted(String fault, String kind, String module, String nativeMethod)
            throws Exception {
        Result r = demo(fault);
        assertEquals(134, r.exitCode(), r::toString);
        assertContains(r.stdout(), "crashagent active: true", r);
        Path file = r.onlyFile("crashagent_pid", ".json");
        ChildJvm.readReport(file);  // matches the schema
        CrashReport report = CrashReport.read(file);
        CrashEvent e = report.event();

        assertEquals(kind, e.kind(), e::toString);
        assertEquals(module, Path.of(e.module()).getFileName().toString(), e::toString);
        assertEquals(nativeMethod, e.nativeMethod());
        assertTrue(Arrays.stream(e.javaStackTrace()).anyMatch(f -> f.getClassName().equals(Demo.class.getName())
                && f.getMethodName().equals("main")), e::toString);
        assertEquals(CrashReport.DispatchStatus.COMPLETE, report.dispatchStatus());
        assertEquals(2, report.listenerOutcomes().size(), report.listenerOutcomes()::toString);
        report.listenerOutcomes().forEach(o -> assertEquals("ok", o.outcome(), o::toString));

        assertContains(r.stderr(), "[listener] " + kind + " in " + e.module(), r);
        String log = Files.readString(r.dir().resolve("demo.log"));
        assertContains(log, "processed order 5", r);
        assertContains(log, "about to call native code: " + fault, r);
        assertContains(log, "FATAL [crashagent dispatcher] crashagent - ", r);
        assertContains(log, "crash.kind=\"" + kind + "\"", r);

        // What the demo recorded for the report, as demo.sh shows it: its context, its breadcrumbs
        // (the warning through the CrashAgentBreadcrumbs appender), and its native calls up to the crash.
        assertEquals(Map.of("fault", fault, "order", "5"), e.context(), e::toString);
        List<Breadcrumb> crumbs = e.breadcrumbs();
        assertEquals("processed order 1", crumbs.get(0).message(), crumbs::toString);
        assertEquals("WARN " + Demo.class.getName() + " - about to call native code: " + fault,
                crumbs.get(crumbs.size() - 1).message(), crumbs::toString);
        List<NativeCall> calls = e.nativeCalls();
        assertEquals(nativeMethod, calls.get(calls.size() - 1).method(), calls::toString);
        assertTrue(calls.stream().allMatch(c -> c.method().startsWith("io.github.crashagent.samples.")), calls::toString);

        Process show = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.github.crashagent.agent.Locator", "show",
                file.toString()).redirectErrorStream(true).start();
        String shown = new String(show.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, show.waitFor(), shown);
        assertContains(shown, "Context:\n  fault = " + fault + "\n  order = 5\n", shown);
        assertContains(shown, "Breadcrumbs (oldest first, ms before the crash):\n", shown);
        assertContains(shown, "] processed order 1\n", shown);
        assertContains(shown, "Last native calls of the crashing thread (oldest first, before the crash):\n", shown);
        assertContains(shown, " ms " + nativeMethod + " [", shown);
    }
}
