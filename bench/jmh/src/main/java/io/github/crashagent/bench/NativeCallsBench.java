// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.bench;

import io.github.crashagent.CrashAgent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The cost a native-calls= entry thunk adds to a JNI call: a trivial native method called in a
 * loop, with the agent without the option and with it (and without the agent, for reference):
 * {@code java -cp <classes and dependencies> io.github.crashagent.bench.NativeCallsBench <libcrashagent.so> <libcallbench.so> [forks]}
 * (bench/native-calls-bench.sh builds and runs it). Prints ns/op of each, the ns each call adds
 * and the ratio.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NativeCallsBench {
    private int a = 1;
    private int b = 2;

    static native int add(int a, int b);

    @Setup
    public void load() {
        System.load(System.getProperty("nativecallsbench.library"));
        boolean expected = Boolean.getBoolean("nativecallsbench.agent");
        if (CrashAgent.isActive() != expected) {
            throw new IllegalStateException("agent active: " + CrashAgent.isActive() + ", expected " + expected);
        }
    }

    @Benchmark
    public int call() {
        return add(a, b);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: NativeCallsBench <path to libcrashagent.so> <path to libcallbench.so> [forks=3]");
            System.exit(64);
        }
        String agent = "-agentpath:" + args[0] + "=dir=" + System.getProperty("java.io.tmpdir");
        String library = args[1];
        int forks = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Map<String, Double> scores = new LinkedHashMap<>();
        scores.put("no agent", score(run(forks, library, null)));
        scores.put("agent", score(run(forks, library, agent)));
        scores.put("agent, native-calls=", score(run(forks, library, agent + ",native-calls=io.github.crashagent.bench.")));
        double without = scores.get("agent");
        double with = scores.get("agent, native-calls=");
        System.out.println();
        for (Map.Entry<String, Double> e : scores.entrySet()) {
            System.out.printf(Locale.ROOT, "%-22s %8.2f ns/call%n", e.getKey(), e.getValue());
        }
        System.out.printf(Locale.ROOT, "native-calls= adds %.2f ns/call; ratio %.2f%n", with - without, with / without);
    }

    private static Collection<RunResult> run(int forks, String library, String agentFlag) throws Exception {
        List<String> flags = new ArrayList<>(List.of("-Xms256m", "-Xmx256m", "-Dnativecallsbench.library=" + library,
                "-Dnativecallsbench.agent=" + (agentFlag != null)));
        if (agentFlag != null) {
            flags.add(agentFlag);
        }
        return new Runner(new OptionsBuilder()
                .include(NativeCallsBench.class.getName() + "\\.")
                .forks(forks)
                .warmupIterations(3).warmupTime(TimeValue.seconds(1))
                .measurementIterations(5).measurementTime(TimeValue.seconds(1))
                .jvmArgsAppend(flags.toArray(new String[0]))
                .build()).run();
    }

    private static double score(Collection<RunResult> results) {
        return results.iterator().next().getPrimaryResult().getScore();
    }
}
