// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import io.github.crashagent.agent.ChildJvm.Result;
import io.github.crashagent.agent.CrashZoo.CrashCase;
import io.github.crashagent.agent.CrashZoo.QuietCase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the whole zoo N times (default 20) on one JDK and prints a table: case, runs, complete
 * reports, hs_err present, false reports, slowest run. Started by bench/soak.sh.
 */
public final class ZooSoak {
    private ZooSoak() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path jdk = Path.of(args.length > 1 ? args[1] : System.getProperty("java.home"));
        List<String> failures = new ArrayList<>();
        System.out.printf("soak: %d rounds on %s%n%n", rounds, jdk);
        System.out.printf("| %-24s | %4s | %16s | %15s | %13s | %12s |%n", "case", "runs", "complete reports",
                "hs_err present", "false reports", "slowest (ms)");
        System.out.printf("|%s|%s|%s|%s|%s|%s|%n", "-".repeat(26), "-".repeat(6), "-".repeat(18), "-".repeat(17),
                "-".repeat(15), "-".repeat(14));
        for (CrashCase c : CrashZoo.crashCases()) {
            Result plain = ChildJvm.run(jdk, c.name() + "-plain", null, CrashZoo.BOUND, List.of(), c.appArgs());
            int complete = 0, hsErr = 0;
            long slowest = 0;
            for (int i = 0; i < rounds; i++) {
                CrashZoo.Outcome o;
                try {
                    o = CrashZoo.checkCrash(jdk, c, plain);
                } catch (AssertionError hang) {
                    failures.add(c.name() + " round " + i + ": " + hang.getMessage());
                    continue;
                }
                if (o.completeReport()) complete++;
                if (o.hsErrPresent()) hsErr++;
                slowest = Math.max(slowest, o.millis());
                if (!o.problems().isEmpty()) failures.add(c.name() + " round " + i + ": " + o.problems());
            }
            String hsErrCell = c.hsErr() ? Integer.toString(hsErr) : hsErr + " (none expected)";
            System.out.printf("| %-24s | %4d | %16d | %15s | %13s | %12d |%n", c.name(), rounds, complete, hsErrCell, "-", slowest);
        }
        for (QuietCase q : CrashZoo.quietCases()) {
            int falseReports = 0;
            long slowest = 0;
            for (int i = 0; i < rounds; i++) {
                long start = System.nanoTime();
                List<String> problems;
                try {
                    problems = CrashZoo.checkQuiet(jdk, q);
                } catch (AssertionError hang) {
                    problems = List.of(hang.getMessage());
                }
                slowest = Math.max(slowest, (System.nanoTime() - start) / 2_000_000);  // two runs per check
                if (problems.stream().anyMatch(p -> p.startsWith("false report"))) falseReports++;
                if (!problems.isEmpty()) failures.add(q.name() + " round " + i + ": " + problems);
            }
            System.out.printf("| %-24s | %4d | %16s | %15s | %13d | %12d |%n", q.name(), rounds, "-", "-", falseReports, slowest);
        }
        System.out.println();
        if (failures.isEmpty()) {
            System.out.println("soak: every run as expected");
        } else {
            System.out.println("soak: " + failures.size() + " runs fell short:");
            failures.forEach(f -> System.out.println("  " + f));
            System.exit(1);
        }
    }
}
