// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.crashagent.Breadcrumb;
import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Context and breadcrumbs from several threads, then a crash: {@code ContextApp <mode> [writers]}.
 *
 * <ul>
 *   <li>{@code latest}: writers each write {@link #ROUNDS} rounds and finish; then the main thread
 *       sets known values (long ones, U+0000, a 65th key) and crashes in JNI.</li>
 *   <li>{@code stress}: writers never stop; once each has written {@link #STRESS_READY} rounds the
 *       main thread crashes in JNI, in the middle of their writes.</li>
 *   <li>{@code noop}: the calls, then a normal exit (with and without the agent).</li>
 *   <li>{@code npe-storm}: a writer records breadcrumbs while the main thread runs the NPE storm.</li>
 * </ul>
 * A listener writes what its {@link CrashEvent} holds to {@code listener-view.json}.
 * Every message and value is built from its writer and round by {@link #message} and {@link #value},
 * so the test can tell a whole entry from a torn one.
 */
public final class ContextApp {
    public static final int ROUNDS = 500;
    public static final int STRESS_READY = 2000;
    private static final String[] FILL = {"a", "é", "€", "😀", "z"};
    // Set by the listener: the copy was taken at the crash, with the writers running; now they
    // stop, so that on a small machine they leave the listener the CPU.
    private static volatile boolean crashSeen;

    private ContextApp() {}

    /** The breadcrumb writer {@code tag} records in round {@code round}: at most 180 bytes of UTF-8. */
    public static String message(String tag, long round) {
        return tag + " " + round + " " + FILL[(int) (round % FILL.length)].repeat((int) (round % 40));
    }

    /** The value writer {@code tag} puts in round {@code round}: at most 200 bytes of UTF-8. */
    public static String value(String tag, long round) {
        return tag + ":" + round + ":" + FILL[(int) ((round + 1) % FILL.length)].repeat((int) (round % 45));
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int writers = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        System.out.println("agent active: " + CrashAgent.isActive());
        switch (mode) {
            case "latest" -> latest(writers);
            case "stress" -> stress(writers);
            case "noop" -> {
                CrashAgent.putContext("request", "r1");
                CrashAgent.removeContext("request");
                CrashAgent.breadcrumb("hello");
                System.out.println("context calls returned");
            }
            case "npe-storm" -> {
                Thread writer = new Thread(() -> {
                    for (long round = 0; !Thread.currentThread().isInterrupted(); round++) {
                        CrashAgent.breadcrumb(message("w0", round));
                        CrashAgent.putContext("w0", value("w0", round));
                    }
                }, "writer-0");
                writer.setDaemon(true);
                writer.start();
                System.out.println("npe storm caught " + NpeStorm.storm(200_000));
                writer.interrupt();
                writer.join();
            }
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        }
    }

    private static void latest(int writers) throws InterruptedException {
        CrashAgent.addListener(ContextApp::writeView);
        Thread[] threads = new Thread[writers];
        for (int w = 0; w < writers; w++) {
            String tag = "w" + w;
            threads[w] = new Thread(() -> {
                for (int round = 0; round < ROUNDS; round++) {
                    CrashAgent.breadcrumb(message(tag, round));
                    CrashAgent.putContext(tag, value(tag, round));
                    CrashAgent.putContext("gone-" + tag, "x");
                    CrashAgent.removeContext("gone-" + tag);
                }
            }, "writer-" + w);
            threads[w].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        CrashAgent.putContext("request", "req-42 ünïcödé 😀");
        CrashAgent.putContext("nul", "a\u0000b");
        CrashAgent.putContext("long-value", "€".repeat(100));   // 300 bytes: cut to 85 characters
        CrashAgent.putContext("k".repeat(70), "long key");        // cut to 64 bytes
        for (int i = 0; i < 64; i++) {
            CrashAgent.putContext("fill-" + i, "f");              // the map takes 64 keys: the rest are refused
        }
        CrashAgent.breadcrumb("é".repeat(100));                   // 200 bytes: cut to 96 characters
        CrashAgent.breadcrumb("last before crash");
        CrashNative.nullWrite();
    }

    private static void stress(int writers) {
        CrashAgent.addListener(ContextApp::writeView);
        AtomicLongArray rounds = new AtomicLongArray(writers);
        for (int w = 0; w < writers; w++) {
            String tag = "w" + w;
            int index = w;
            Thread t = new Thread(() -> {
                for (long round = 0; !crashSeen; round++) {
                    CrashAgent.breadcrumb(message(tag, round));
                    CrashAgent.putContext(tag, value(tag, round));
                    // One key for every writer: puts that collide with another writer's.
                    CrashAgent.putContext("shared", value(tag, round));
                    rounds.lazySet(index, round);
                }
            }, "writer-" + w);
            t.setDaemon(true);
            t.start();
        }
        // Readiness: every writer is in its loop, well past the first ring's worth.
        for (int w = 0; w < writers; w++) {
            while (rounds.get(w) < STRESS_READY) {
                Thread.onSpinWait();
            }
        }
        CrashNative.nullWrite();
    }

    private static void writeView(CrashEvent event) {
        crashSeen = true;
        ObjectMapper json = new ObjectMapper();
        ObjectNode view = json.createObjectNode();
        ObjectNode context = view.putObject("context");
        for (Map.Entry<String, String> e : event.context().entrySet()) {
            context.put(e.getKey(), e.getValue());
        }
        ArrayNode breadcrumbs = view.putArray("breadcrumbs");
        for (Breadcrumb b : event.breadcrumbs()) {
            breadcrumbs.addObject().put("time_ms", b.timestamp()).put("java_thread_id", b.javaThreadId())
                    .put("thread", b.threadName()).put("message", b.message());
        }
        try {
            json.writeValue(Path.of("listener-view.json").toFile(), view);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
