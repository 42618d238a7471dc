// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Workloads that make the JVM (or a library) raise and handle faults of its own. None of them is
 * a crash: with the agent they must print the same and exit the same as without it. Output is
 * deterministic so the two runs can be compared.
 */
final class QuietWorkloads {
    private QuietWorkloads() {}

    static void run(String name) throws Exception {
        switch (name) {
            case "safepoints" -> safepoints();
            case "mapped-truncated" -> mappedTruncated();
            case "own-handler" -> System.out.println("recovered " + Zoo.probeWithOwnHandler(1000) + " of 1000 probes");
            case "gc-heavy" -> gcHeavy();
            default -> throw new IllegalArgumentException("unknown workload " + name);
        }
    }

    /** Busy threads plus a thread forcing safepoints and handshakes (stack walks, GCs). */
    private static void safepoints() throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> workers = new ArrayList<>();
        long[] sums = new long[4];
        for (int i = 0; i < sums.length; i++) {
            int slot = i;
            Thread t = new Thread(() -> {
                long s = 0;
                while (!stop.get()) {
                    for (int k = 0; k < 10_000; k++) {
                        s += k ^ slot;
                    }
                }
                sums[slot] = s;
            });
            workers.add(t);
            t.start();
        }
        for (int i = 0; i < 300; i++) {
            Thread.getAllStackTraces();
            if (i % 50 == 0) {
                System.gc();
            }
        }
        stop.set(true);
        for (Thread t : workers) {
            t.join();
        }
        System.out.println("safepoint workload done with " + workers.size() + " workers");
    }

    /** A MappedByteBuffer over a file truncated underneath it: the JVM turns the SIGBUS into InternalError. */
    private static void mappedTruncated() throws IOException {
        Path file = Files.createTempFile("crashagent-mapped", ".bin");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(1 << 16);
            MappedByteBuffer buffer = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, 1 << 16);
            buffer.put(0, (byte) 1);
            raf.setLength(0);
            try {
                System.out.println("read " + buffer.get(1 << 15));
            } catch (InternalError expected) {
                // The message says whether the access was compiled; only the type is deterministic.
                System.out.println("caught " + expected.getClass().getSimpleName());
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Several threads allocating hard for a few seconds: many GCs, many safepoints. */
    private static void gcHeavy() throws InterruptedException {
        int threads = 4;
        long[] checksums = new long[threads];
        List<Thread> all = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int slot = i;
            Thread t = new Thread(() -> {
                long sum = 0;
                for (int round = 0; round < 400; round++) {
                    List<int[]> keep = new ArrayList<>();
                    for (int k = 0; k < 2_000; k++) {
                        int[] a = new int[64 + (k % 512)];
                        a[0] = k;
                        keep.add(a);
                    }
                    for (int[] a : keep) {
                        sum += a[0];
                    }
                }
                checksums[slot] = sum;
            });
            all.add(t);
            t.start();
        }
        for (Thread t : all) {
            t.join();
        }
        long total = 0;
        for (long c : checksums) {
            total += c;
        }
        System.out.println("gc workload checksum " + total);
    }
}
