// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

/**
 * Implicit null checks in compiled code, the workload of the no-false-report tests and of
 * bench/npe-storm.sh. Run with -XX:TieredStopAtLevel=1, every NullPointerException below is a
 * SIGSEGV that the JVM handles itself, so the agent's signal fast path runs once per iteration.
 * As a program it prints the loop's own time, excluding JVM startup.
 */
public final class NpeStorm {
    private static Object nothing;

    public static void main(String[] args) {
        int iterations = Integer.parseInt(args[0]);
        storm(iterations / 10);  // warm up: get the loop compiled by C1
        long start = System.nanoTime();
        long caught = storm(iterations);
        long nanos = System.nanoTime() - start;
        System.out.println("iterations=" + iterations + " caught=" + caught + " loop_ns=" + nanos);
    }

    /** Each iteration dereferences null in compiled code: an implicit null check, a SIGSEGV. */
    public static long storm(int iterations) {
        long caught = 0;
        for (int i = 0; i < iterations; i++) {
            try {
                caught += nothing.hashCode();
            } catch (NullPointerException expected) {
                caught++;
            }
        }
        return caught;
    }
}
