package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs io.github.crashagent.testapp.CrashApp in a child JVM, with or without the agent. */
final class ChildJvm {
    static final Path AGENT = Path.of(System.getProperty("crashagent.library"));
    static final Path TEST_LIBRARY = Path.of(System.getProperty("crashagent.testLibrary"));
    static final Path WORK = Path.of(System.getProperty("crashagent.workDir", "target/child-jvms"));
    static final ObjectMapper JSON = new ObjectMapper();

    private ChildJvm() {}

    /** The JDK running the tests, plus every other JDK under /usr/lib/jvm whose java runs. */
    static Stream<Path> jdks() throws IOException {
        List<Path> result = new ArrayList<>();
        Path current = Path.of(System.getProperty("java.home"));
        result.add(current);
        Path jvmDir = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvmDir)) {
            try (Stream<Path> list = Files.list(jvmDir)) {
                list.filter(p -> p.getFileName().toString().startsWith("temurin-"))
                        .filter(p -> Files.isExecutable(p.resolve("bin/java")))
                        .sorted()
                        .forEach(result::add);
            }
        }
        return result.stream();
    }

    record Result(int exitCode, String stdout, String stderr, Path dir, Duration elapsed) {
        List<Path> files(String prefix, String suffix) throws IOException {
            try (Stream<Path> list = Files.list(dir)) {
                return list.filter(p -> p.getFileName().toString().startsWith(prefix)
                        && p.getFileName().toString().endsWith(suffix)).sorted().toList();
            }
        }

        Path onlyFile(String prefix, String suffix) throws IOException {
            List<Path> found = files(prefix, suffix);
            if (found.size() != 1) {
                fail("expected exactly one " + prefix + "*" + suffix + " in " + dir + ", found " + found + "\n" + this);
            }
            return found.get(0);
        }

        JsonNode report() throws IOException {
            return JSON.readTree(onlyFile("crashagent_pid", ".json").toFile());
        }

        String text(String prefix, String suffix) throws IOException {
            return Files.readString(onlyFile(prefix, suffix), StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "exit=" + exitCode + " elapsed=" + elapsed.toMillis() + "ms dir=" + dir
                    + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    /**
     * Runs the app in a new directory under target/child-jvms. agentOptions null means no agent.
     * Fails the test if the child is still running after the timeout (a hang), after killing it.
     */
    static Result run(Path javaHome, String name, String agentOptions, Duration timeout, List<String> jvmFlags,
                      String... appArgs) throws IOException, InterruptedException {
        return run(javaHome, name, agentOptions, timeout, jvmFlags, Map.of(), appArgs);
    }

    static Result run(Path javaHome, String name, String agentOptions, Duration timeout, List<String> jvmFlags,
                      Map<String, String> environment, String... appArgs) throws IOException, InterruptedException {
        Path dir = WORK.resolve(name + "-" + javaHome.getFileName() + "-" + System.nanoTime()).toAbsolutePath();
        Files.createDirectories(dir);
        List<String> command = new ArrayList<>();
        // HotSpot's crash path ends in abort() as it does for users; no core files, though.
        command.addAll(List.of("/bin/sh", "-c", "ulimit -c 0 && exec \"$0\" \"$@\""));
        command.add(javaHome.resolve("bin/java").toString());
        if (agentOptions != null) {
            command.add("-agentpath:" + AGENT.toAbsolutePath() + (agentOptions.isEmpty() ? "" : "=" + agentOptions));
        }
        command.add("-Dcrashagent.testLibrary=" + TEST_LIBRARY.toAbsolutePath());
        command.addAll(jvmFlags);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("io.github.crashagent.testapp.CrashApp");
        command.addAll(List.of(appArgs));

        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        long start = System.nanoTime();
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().putAll(environment);
        Process process = builder.start();
        boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        if (!finished) {
            process.destroyForcibly().waitFor();
        }
        Result result = new Result(finished ? process.exitValue() : -1, Files.readString(out), Files.readString(err),
                dir, elapsed);
        if (!finished) {
            fail("child JVM still running after " + timeout + " (a hang): " + String.join(" ", command) + "\n" + result);
        }
        return result;
    }

    static Result run(Path javaHome, String name, String agentOptions, String... appArgs)
            throws IOException, InterruptedException {
        return run(javaHome, name, agentOptions, Duration.ofSeconds(60), List.of(), appArgs);
    }
}
