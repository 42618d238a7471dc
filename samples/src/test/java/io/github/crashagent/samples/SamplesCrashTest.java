// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.agent.ChildJvm;
import io.github.crashagent.agent.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
                .agent("")
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
    }
}
