// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

import com.sun.tools.attach.VirtualMachine;
import io.github.crashagent.CrashAgent;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The program the tests run in child JVMs: {@code CrashApp <scenario>}. Listeners write marker
 * files into the working directory so the tests can check that they ran and what they saw.
 */
public final class CrashApp {
    private CrashApp() {}

    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        System.out.println("agent active: " + CrashAgent.isActive());
        switch (scenario) {
            case "null-write" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                crashInJni();
            }
            case "late-attach" -> lateAttach(args[1], args[2]);
            case "native-calls" -> nativeCallsThenCrash();
            case "listener-exits" -> {
                // listener-exits exit|halt: the second listener ends the process; the third must
                // not run, the first one's outcome must survive.
                boolean halt = args[1].equals("halt");
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashAgent.addListener(event -> {
                    if (halt) {
                        Runtime.getRuntime().halt(42);
                    } else {
                        System.exit(42);
                    }
                });
                CrashAgent.addListener(event -> {
                    try {
                        Files.writeString(Path.of("third-listener-ran.txt"), "yes");
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                crashInJni();
            }
            case "listener-killed" -> {
                // The second listener's process is killed (SIGKILL: no handler, no VMDeath runs)
                // once the report on disk shows the first one's outcome and the second running.
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashAgent.addListener(event -> {
                    try {
                        long deadline = System.nanoTime() + 10_000_000_000L;
                        while (System.nanoTime() < deadline) {
                            CrashReport onDisk = CrashReport.read(event.reportFile());
                            if (onDisk.listenerOutcomes().size() == 2) {
                                break;
                            }
                            Thread.onSpinWait();
                        }
                        new ProcessBuilder("kill", "-KILL", Long.toString(ProcessHandle.current().pid()))
                                .inheritIO().start().waitFor();
                        while (true) {
                            LockSupport.park();
                        }
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
                crashInJni();
            }
            case "disk-fills-in-listener" -> {
                // A listener fills the report directory's disk (a log flood, another process):
                // the report the agent writes after the listeners no longer fits there.
                CrashAgent.addListener(event -> {
                    try {
                        Files.writeString(Path.of(System.getenv("CRASHAGENT_FULL_TRIGGER")), "full");
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                CrashAgent.addListener(CrashApp::writeMarker);
                crashInJni();
            }
            case "report-dir-gone" -> {
                // the report directory disappears (unmounted, cleaned up) before the crash
                CrashAgent.addListener(CrashApp::writeMarker);
                Files.delete(CrashAgent.reportDirectory().orElseThrow());
                crashInJni();
            }
            case "abort" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashNative.abortNow();
            }
            case "bad-jni-call" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                System.out.println("result " + CrashNative.badJniCall());
            }
            case "killed" -> {
                // Another process sends SIGSEGV (or the signal args[1] names), as `kill -SEGV <pid>`
                // does; the shell writes its pid (the sender: exec keeps it) before it becomes kill.
                CrashAgent.addListener(CrashApp::writeMarker);
                long self = ProcessHandle.current().pid();
                String signal = args.length > 1 ? args[1] : "SEGV";
                Process kill = new ProcessBuilder("/bin/sh", "-c", "echo $$ > sender.txt && exec kill -" + signal + " " + self)
                        .inheritIO().start();
                kill.waitFor();
                // The signal is on its way to some thread of this process; this one waits for it.
                while (true) {
                    LockSupport.park();
                }
            }
            case "own-thread" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashNative.crashOnOwnThread();
            }
            case "listener-throws" -> {
                CrashAgent.addListener(event -> {
                    throw new IllegalStateException("listener failed on purpose");
                });
                CrashAgent.addListener(CrashApp::writeMarker);
                crashInJni();
            }
            case "listener-hangs" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashAgent.addListener(event -> {
                    while (true) {
                        LockSupport.park();
                    }
                });
                crashInJni();
            }
            case "concurrent" -> crashConcurrently(Integer.parseInt(args[1]));
            case "native-stack-overflow" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashNative.recurseForever();
            }
            case "fault" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                fault(args[1]);
            }
            case "listener-crashes" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                CrashAgent.addListener(event -> Zoo.nullRead());
                crashInJni();
            }
            case "malloc-busy" -> {
                CrashAgent.addListener(CrashApp::writeMarker);
                Zoo.startMallocHammer();
                crashInJni();
            }
            case "jit-frames" -> {
                // A crash in compiled Java code leaves its thread in Java state: listeners that need
                // the VM (a safepoint, class loading) wait for it in vain, up to the timeout.
                if (!args[1].equals("compiled")) {
                    CrashAgent.addListener(CrashApp::writeMarker);
                }
                jitFrames(args[1]);
            }
            case "quiet" -> QuietWorkloads.run(args[1]);
            case "round-trip" -> {
                // round-trip <null-write|abort|own-thread>: the listener saves what it saw
                CrashAgent.addListener(CrashApp::writeEventJson);
                switch (args[1]) {
                    case "null-write" -> crashInJni();
                    case "abort" -> CrashNative.abortNow();
                    case "own-thread" -> CrashNative.crashOnOwnThread();
                    default -> throw new IllegalArgumentException("unknown crash " + args[1]);
                }
            }
            case "pending" -> {
                // lists the pending reports, acknowledges them, lists again
                System.out.println("report directory: " + CrashAgent.reportDirectory().orElse(null));
                List<CrashReport> pending = CrashAgent.pendingReports();
                for (CrashReport report : pending) {
                    System.out.println("pending: " + report.file().getFileName() + " pid=" + report.pid()
                            + " kind=" + report.event().kind() + " signature=" + report.event().signature());
                }
                System.out.println("pending count: " + pending.size());
                for (CrashReport report : pending) {
                    CrashAgent.acknowledge(report);
                }
                System.out.println("pending after acknowledge: " + CrashAgent.pendingReports().size());
                return;
            }
            case "npe-storm" -> System.out.println("npe storm caught " + NpeStorm.storm(Integer.parseInt(args[1])));
            case "stack-overflow" -> System.out.println("stack overflow caught at depth>0: " + (recurseUntilOverflow() > 0));
            case "arch" -> System.out.println("os.arch: " + System.getProperty("os.arch"));
            default -> throw new IllegalArgumentException("unknown scenario " + scenario);
        }
        System.out.println("no crash");
    }

    /**
     * Threads released together by a barrier all write through null. The listener (running while
     * the first crash is reported) waits until every thread reached the fault, so the report can
     * list the others.
     */
    static void crashConcurrently(int threads) throws InterruptedException {
        CrashAgent.addListener(event -> {
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (CrashNative.enteredCount() < threads && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            writeMarker(event);
        });
        java.util.concurrent.CyclicBarrier barrier = new java.util.concurrent.CyclicBarrier(threads);
        Thread[] all = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            all[i] = new Thread(() -> {
                try {
                    barrier.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                CrashNative.nullWriteCounted();
            }, "crasher-" + i);
            all[i].start();
        }
        for (Thread t : all) {
            t.join();
        }
    }

    /** One native fault of the zoo, by name, called from this Java frame. */
    static void fault(String kind) throws InterruptedException {
        System.out.println("fault " + kind);
        System.out.flush();
        switch (kind) {
            case "null-read" -> Zoo.nullRead();
            case "null-write" -> CrashNative.nullWrite();
            case "wild-pointer" -> Zoo.wildPointer();
            case "write-read-only" -> Zoo.writeReadOnly();
            case "execute-data" -> Zoo.executeData();
            case "illegal-instruction" -> Zoo.illegalInstruction();
            case "divide-by-zero" -> Zoo.divideByZero();
            case "abort" -> CrashNative.abortNow();
            case "double-free" -> Zoo.doubleFree();
            case "uncaught-cpp-exception" -> Zoo.uncaughtCppException();
            case "native-stack-overflow" -> CrashNative.recurseForever();
            case "bus-error" -> Zoo.busError();
            case "misaligned-exclusive" -> System.out.println("misaligned exclusive returned " + Zoo.misalignedExclusive());
            case "memcpy-null" -> Zoo.memcpyToNull();
            case "library-thread" -> CrashNative.crashOnOwnThread();
            case "attached-thread" -> Zoo.crashOnAttachedThread();
            case "nested-jni" -> Zoo.callJava(CrashNative::nullWrite);
            case "finalizer-thread" -> crashOnFinalizerThread();
            default -> throw new IllegalArgumentException("unknown fault " + kind);
        }
    }

    /**
     * Registers a listener, loads the agent into this running JVM as {@code jcmd <pid>
     * JVMTI.agent_load} does (unless agent is "none"), then crashes on the main thread, which is
     * older than the agent, or on a thread started after it ({@code where}: main or new-thread).
     */
    static void lateAttach(String agent, String where) throws Exception {
        CrashAgent.addListener(CrashApp::writeMarker);
        CrashAgent.addListener(event -> System.out.println("listener: agent active: " + CrashAgent.isActive()));
        if (!agent.equals("none")) {
            VirtualMachine vm = VirtualMachine.attach(Long.toString(ProcessHandle.current().pid()));
            try {
                vm.loadAgentPath(agent, "");
            } finally {
                vm.detach();
            }
        }
        // No CrashAgent call until the crash: the agent has to find the API class by itself.
        if (where.equals("main")) {
            crashInJni();
        } else {
            Thread thread = new Thread(CrashApp::crashInJni, "started after attach");
            thread.start();
            thread.join();
        }
    }

    /**
     * Crashes in JNI on the JVM's "Finalizer" thread, one of the Java threads the JVM starts before
     * an agent gets any thread events. Returns only if the finalizer never ran.
     */
    static void crashOnFinalizerThread() {
        new CrashingFinalizer();
        for (int i = 0; i < 1000; i++) {
            System.gc();
            System.runFinalization();
        }
    }

    private static final class CrashingFinalizer {
        @SuppressWarnings({"deprecation", "removal"})
        @Override
        protected void finalize() {
            finalizeInJni();
        }
    }

    static void finalizeInJni() {
        CrashNative.nullWrite();
    }

    /**
     * Crashes where the frame above the fault is code the JIT made or the interpreter: JNI called
     * from the interpreter ({@code cold}); JNI called through HotSpot's native wrapper, once the
     * native method is compiled ({@code warm}; run with -Xbatch so that it is when the loop ends);
     * and a read in compiled Java code through a direct buffer a library made over memory that is
     * not mapped ({@code compiled}).
     */
    static void jitFrames(String how) {
        System.out.println("jit frames " + how);
        System.out.flush();
        switch (how) {
            case "cold" -> callNativeWhen(true);
            case "warm" -> {
                if (!CrashNative.watchCompiledMethod("nullWriteWhen")) {
                    throw new IllegalStateException("JVMTI refused CompiledMethodLoad events");
                }
                for (int i = 0; i < 20_000; i++) {
                    callNativeWhen(false);
                }
                // The JVM tells agents about the wrapper later, from its service thread.
                if (!CrashNative.awaitCompiledMethod(60_000)) {
                    throw new IllegalStateException("no CompiledMethodLoad for nullWriteWhen's wrapper");
                }
                callNativeWhen(true);
            }
            case "compiled" -> {
                java.nio.ByteBuffer mapped = java.nio.ByteBuffer.allocateDirect(8).putLong(0, 1);
                long sum = 0;
                for (int i = 0; i < 20_000; i++) {
                    sum += readFirstLong(mapped);
                }
                System.out.println("read " + sum + " times");
                readFirstLong(CrashNative.bufferOverUnmappedMemory());
            }
            default -> throw new IllegalArgumentException("unknown jit-frames case " + how);
        }
    }

    static void callNativeWhen(boolean crash) {
        CrashNative.nullWriteWhen(crash);
    }

    static long readFirstLong(java.nio.ByteBuffer buffer) {
        return buffer.getLong(0);
    }

    /** The Java frame the tests expect on the crashing thread's stack. */
    static void crashInJni() {
        System.out.println("crashing now");
        System.out.flush();
        CrashNative.nullWrite();
    }

    static void writeMarker(CrashEvent event) {
        String text = String.join("\n",
                "kind=" + event.kind(),
                "origin=" + event.origin(),
                "hasFaultAddress=" + event.hasFaultAddress(),
                "module=" + event.module(),
                "symbol=" + event.symbol(),
                "nativeMethod=" + event.nativeMethod(),
                "threadName=" + event.threadName(),
                "javaThread=" + event.javaThread(),
                "signature=" + event.signature(),
                "reportFile=" + event.reportFile(),
                "reportExists=" + (event.reportFile() != null && Files.exists(event.reportFile())),
                "javaStack=" + Arrays.toString(event.javaStackTrace()),
                "nativeFrames=" + event.nativeFrames(),
                "");
        try {
            Files.writeString(Path.of("listener-marker.txt"), text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Saves every field of the event as JSON, for comparison with the report read back. */
    static void writeEventJson(CrashEvent event) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("kind", event.kind());
        root.put("code", event.code());
        root.put("faultAddress", event.faultAddress());
        root.put("hasFaultAddress", event.hasFaultAddress());
        root.put("origin", event.origin());
        root.put("pc", event.pc());
        root.put("module", event.module());
        root.put("moduleOffset", event.moduleOffset());
        root.put("symbol", event.symbol());
        root.put("threadName", event.threadName());
        root.put("javaThread", event.javaThread());
        root.put("nativeMethod", event.nativeMethod());
        ArrayNode stack = root.putArray("javaStackTrace");
        for (StackTraceElement e : event.javaStackTrace()) {
            stack.addObject().put("class", e.getClassName()).put("method", e.getMethodName())
                    .put("file", e.getFileName()).put("line", e.getLineNumber());
        }
        ArrayNode frames = root.putArray("nativeFrames");
        event.nativeFrames().forEach(frames::add);
        root.put("signature", event.signature());
        root.put("reportFile", event.reportFile() == null ? null : event.reportFile().toString());
        root.put("timestamp", event.timestamp());
        try {
            json.writeValue(Path.of("listener-event.json").toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int recurseUntilOverflow() {
        int[] depth = {0};
        try {
            recurse(depth);
        } catch (StackOverflowError expected) {
            return depth[0];
        }
        return -1;
    }

    private static void recurse(int[] depth) {
        depth[0]++;
        recurse(depth);
    }

    /**
     * Known JNI calls, some on a second thread that has finished before the crash, then a crash in
     * nullWriteWhen(true). Prints what the calls returned, so a thunk that changed an argument shows.
     */
    static void nativeCallsThenCrash() throws InterruptedException {
        // The listener's view of the calls, for comparison with the report's.
        CrashAgent.addListener(event -> {
            try {
                Files.writeString(Path.of("native-calls-view.txt"),
                        event.nativeCalls() + "\n" + event.processNativeCalls() + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Thread other = new Thread(() -> {
            CrashNative.callA(100);
            CrashNative.callA(101);
        }, "other-caller");
        other.start();
        other.join();
        System.out.println("callA(1)=" + CrashNative.callA(1));
        System.out.println("callB(2,-3,true)=" + CrashNative.callB(2L, -3, true));
        System.out.println("mix=" + CrashNative.mix(1, 2.0, 3L, 4.0f, 5, 6, 7, 8.0, (short) 9, (byte) -1));
        System.out.println("callA(-5)=" + CrashNative.callA(-5));
        CrashNative.nullWriteWhen(false);
        System.out.flush();
        CrashNative.nullWriteWhen(true);
    }
}
