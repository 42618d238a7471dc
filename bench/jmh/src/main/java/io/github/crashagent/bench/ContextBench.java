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
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The cost of {@link CrashAgent#breadcrumb} and {@link CrashAgent#putContext}, without the agent
 * (a no-op) and with it, in one run:
 * {@code java -cp <classes and dependencies> io.github.crashagent.bench.ContextBench <libcrashagent.so> [forks]}
 * (bench/context-bench.sh builds and runs it). Prints ns/op of both, the difference, and the
 * bytes allocated per call (JMH's GC profiler), which must be 0.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ContextBench {
    // Typical sizes: a short message, a request id.
    private final String message = "GET /orders/12345 handled";
    private final String key = "request";
    private final String value = "req-7f3a9c21";

    /** A run meant with the agent must have it, one meant without must not: else the figures mean nothing. */
    @Setup
    public void checkAgent() {
        boolean expected = Boolean.getBoolean("contextbench.agent");
        if (CrashAgent.isActive() != expected) {
            throw new IllegalStateException("agent active: " + CrashAgent.isActive() + ", expected " + expected);
        }
    }

    @Benchmark
    public void breadcrumb() {
        CrashAgent.breadcrumb(message);
    }

    @Benchmark
    public void putContext() {
        CrashAgent.putContext(key, value);
    }

    @Benchmark
    public long clock() {
        // The wall-clock read each breadcrumb makes for its time: part of breadcrumb's cost.
        return System.currentTimeMillis();
    }

    @Benchmark
    public void baseline() {
        // What the harness itself costs per call: the floor under both.
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ContextBench <path to libcrashagent.so> [forks=3]");
            System.exit(64);
        }
        String agent = args[0];
        int forks = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Map<String, Double> without = scores(run(forks, null));
        Collection<RunResult> agentRuns = run(forks, "-agentpath:" + agent + "=dir=" + System.getProperty("java.io.tmpdir"));
        Map<String, Double> with = scores(agentRuns);
        Map<String, Double> allocated = new LinkedHashMap<>();
        for (RunResult r : agentRuns) {
            Result<?> norm = r.getSecondaryResults().get("gc.alloc.rate.norm");
            allocated.put(name(r), norm == null ? Double.NaN : norm.getScore());
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%-12s %14s %14s %12s %8s %12s%n", "benchmark", "no agent ns/op", "agent ns/op",
                "added ns/op", "ratio", "agent B/op");
        for (String name : with.keySet()) {
            double a = without.get(name), b = with.get(name);
            System.out.printf(Locale.ROOT, "%-12s %14.2f %14.2f %12.2f %8.2f %12.3f%n", name, a, b, b - a,
                    a > 0 ? b / a : Double.NaN, allocated.get(name));
        }
    }

    private static Collection<RunResult> run(int forks, String agentFlag) throws Exception {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(ContextBench.class.getName() + "\\.")
                .forks(forks)
                .warmupIterations(3).warmupTime(TimeValue.seconds(1))
                .measurementIterations(5).measurementTime(TimeValue.seconds(1))
                .addProfiler(GCProfiler.class);
        List<String> flags = new ArrayList<>(List.of("-Xms256m", "-Xmx256m"));
        if (agentFlag != null) {
            flags.add(agentFlag);
        }
        flags.add("-Dcontextbench.agent=" + (agentFlag != null));
        return new Runner(options.jvmArgsAppend(flags.toArray(new String[0])).build()).run();
    }

    private static Map<String, Double> scores(Collection<RunResult> results) {
        Map<String, Double> scores = new LinkedHashMap<>();
        for (RunResult r : results) {
            scores.put(name(r), r.getPrimaryResult().getScore());
        }
        return scores;
    }

    private static String name(RunResult r) {
        String full = r.getParams().getBenchmark();
        return full.substring(full.lastIndexOf('.') + 1);
    }
}
