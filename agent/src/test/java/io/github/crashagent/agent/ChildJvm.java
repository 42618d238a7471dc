// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.ValidationMessage;
import io.github.crashagent.testing.ReportChecks;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a Java program in a child JVM, with or without the agent, in a fresh directory, and
 * collects what it left behind. Shared with the other modules through the agent's test-jar.
 *
 * <p>The agent and the JNI test library come from the system properties
 * {@code crashagent.library} and {@code crashagent.testLibrary} when set, otherwise from the class
 * path ({@code native/linux-x86_64/libcrashagent.so} in the agent jar,
 * {@code native-test/linux-x86_64/libcrashtest.so} in its test-jar).
 *
 * <p>{@code crashagent.javaHome} names the one Java home the children run with instead of the
 * JDKs found on the machine: the aarch64 tests give a directory whose {@code bin/java} runs Debian's
 * arm64 OpenJDK under qemu-user (cpp/test/aarch64/sysroot.sh), with the aarch64 libraries in the
 * two library properties.
 */
public final class ChildJvm {
    public static final String CRASH_APP = "io.github.crashagent.testapp.CrashApp";
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Path> EXTRACTED = new HashMap<>();
    static final Path WORK = Path.of(System.getProperty("crashagent.workDir", "target/child-jvms")).toAbsolutePath();
    static final Path AGENT = library("crashagent.library", "native/linux-x86_64/libcrashagent.so");
    static final Path TEST_LIBRARY = library("crashagent.testLibrary", "native-test/linux-x86_64/libcrashtest.so");
    /** LD_PRELOAD library that makes directories full (cpp/test/posix/full_disk_shim.cpp). */
    static final Path FULL_DISK_SHIM = library("crashagent.fullDiskShim", "native-test/linux-x86_64/libfull_disk_shim.so");

    private ChildJvm() {}

    public static Path work() {
        return WORK;
    }

    public static Path agentLibrary() {
        return AGENT;
    }

    public static Path testLibrary() {
        return TEST_LIBRARY;
    }

    private static Path library(String property, String resource) {
        String configured = System.getProperty(property);
        if (configured != null) {
            return Path.of(configured).toAbsolutePath();
        }
        return extract(resource);
    }

    private static synchronized Path extract(String resource) {
        return EXTRACTED.computeIfAbsent(resource, r -> {
            try (InputStream in = ChildJvm.class.getClassLoader().getResourceAsStream(r)) {
                if (in == null) {
                    throw new IllegalStateException(r + " is not on the test class path; build the agent module first");
                }
                Path target = WORK.resolve("libs").resolve(r);
                Files.createDirectories(target.getParent());
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                return target;
            } catch (IOException e) {
                throw new IllegalStateException("cannot extract " + r, e);
            }
        });
    }

    /**
     * The JDK running the tests, plus every other JDK under /usr/lib/jvm whose java runs; or only
     * the Java home that {@code crashagent.javaHome} names.
     */
    public static Stream<Path> jdks() throws IOException {
        String configured = System.getProperty("crashagent.javaHome");
        if (configured != null && !configured.isEmpty()) {
            Path home = Path.of(configured).toAbsolutePath();
            if (!Files.isExecutable(home.resolve("bin/java"))) {
                throw new IllegalStateException("crashagent.javaHome=" + configured + " has no executable bin/java");
            }
            return Stream.of(home);
        }
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

    public static JsonNode readReport(Path file) throws IOException {
        JsonNode report = JSON.readTree(file.toFile());
        assertMatchesSchema(report, file);
        return report;
    }

    /** Fails when a report does not match schema/crash-report.schema.json. */
    public static void assertMatchesSchema(JsonNode report, Object context) throws IOException {
        ReportChecks.assertMatchesSchema(report, context);
    }

    /** Every way a report breaks schema/crash-report.schema.json; empty when it matches. */
    public static Set<ValidationMessage> schemaProblems(JsonNode report) throws IOException {
        return ReportChecks.schemaProblems(report);
    }

    public record Result(int exitCode, String stdout, String stderr, Path dir, Duration elapsed, long pid) {
        public List<Path> files(String prefix, String suffix) throws IOException {
            return ChildJvm.files(dir, prefix, suffix);
        }

        public Path onlyFile(String prefix, String suffix) throws IOException {
            List<Path> found = files(prefix, suffix);
            if (found.size() != 1) {
                fail("expected exactly one " + prefix + "*" + suffix + " in " + dir + ", found " + found + "\n" + this);
            }
            return found.get(0);
        }

        /** The only JSON report in the run's directory, checked against the schema. */
        public JsonNode report() throws IOException {
            return readReport(onlyFile("crashagent_pid", ".json"));
        }

        /** The file's text; bytes that are not UTF-8 (hs_err prints raw memory and names) read as U+FFFD. */
        public String text(String prefix, String suffix) throws IOException {
            return new String(Files.readAllBytes(onlyFile(prefix, suffix)), StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "exit=" + exitCode + " pid=" + pid + " elapsed=" + elapsed.toMillis() + "ms dir=" + dir
                    + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    public static List<Path> files(Path dir, String prefix, String suffix) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    /** Fails unless haystack contains needle, showing both and the context (a child JVM's run). */
    public static void assertContains(String haystack, String needle, Object context) {
        ReportChecks.assertContains(haystack, needle, context);
    }

    public static Builder builder(Path javaHome, String name) {
        return new Builder(javaHome, name);
    }

    /** What to run; {@link #run()} runs it. */
    public static final class Builder {
        private final Path javaHome;
        private final String name;
        private String agentOptions;
        private Path agent = AGENT;
        private String mainClass = CRASH_APP;
        private List<String> jvmFlags = List.of();
        private List<String> args = List.of();
        private Duration timeout = Duration.ofSeconds(60);
        private Map<String, String> environment = Map.of();
        private Path dir;
        private String classPath = System.getProperty("java.class.path");

        private Builder(Path javaHome, String name) {
            this.javaHome = javaHome;
            this.name = name;
        }

        /** Loads the agent with these options ("" for none); without this call there is no agent. */
        public Builder agent(String options) {
            this.agentOptions = options;
            return this;
        }

        /** Loads this agent library instead of the one built by the agent module. */
        public Builder agentLibrary(Path library) {
            this.agent = library;
            return this;
        }

        public Builder mainClass(String mainClass) {
            this.mainClass = mainClass;
            return this;
        }

        public Builder jvmFlags(String... flags) {
            this.jvmFlags = List.of(flags);
            return this;
        }

        public Builder jvmFlags(List<String> flags) {
            this.jvmFlags = List.copyOf(flags);
            return this;
        }

        public Builder args(String... args) {
            this.args = List.of(args);
            return this;
        }

        /** Adds these variables to the child's environment. */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** Runs with exactly these class path entries instead of the tests' own class path. */
        public Builder classPath(List<Path> entries) {
            List<String> parts = new ArrayList<>();
            for (Path entry : entries) {
                parts.add(entry.toAbsolutePath().toString());
            }
            this.classPath = String.join(File.pathSeparator, parts);
            return this;
        }

        /** Runs in this directory instead of a new one under target/child-jvms. */
        public Builder dir(Path dir) {
            this.dir = dir;
            return this;
        }

        /**
         * Runs the program and waits for it. Fails the test if the child is still running after
         * the timeout (a hang), after killing it.
         */
        public Result run() throws IOException, InterruptedException {
            Path runDir = dir != null ? dir
                    : WORK.resolve(name + "-" + javaHome.getFileName() + "-" + System.nanoTime());
            Files.createDirectories(runDir);
            List<String> command = new ArrayList<>();
            // HotSpot's crash path ends in abort() as it does for users; no core files, though.
            command.addAll(List.of("/bin/sh", "-c", "ulimit -c 0 && exec \"$0\" \"$@\""));
            command.add(javaHome.resolve("bin/java").toString());
            if (agentOptions != null) {
                command.add("-agentpath:" + agent.toAbsolutePath() + (agentOptions.isEmpty() ? "" : "=" + agentOptions));
            }
            command.add("-Dcrashagent.testLibrary=" + TEST_LIBRARY);
            command.addAll(jvmFlags);
            command.add("-cp");
            command.add(classPath);
            command.add(mainClass);
            command.addAll(args);

            String tag = System.nanoTime() + "";
            Path out = runDir.resolve("stdout-" + tag + ".txt");
            Path err = runDir.resolve("stderr-" + tag + ".txt");
            long start = System.nanoTime();
            ProcessBuilder processBuilder = new ProcessBuilder(command).directory(runDir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            processBuilder.environment().putAll(environment);
            Process process = processBuilder.start();
            boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            if (!finished) {
                process.destroyForcibly().waitFor();
            }
            Result result = new Result(finished ? process.exitValue() : -1, Files.readString(out), Files.readString(err),
                    runDir, elapsed, process.pid());
            if (!finished) {
                fail("child JVM still running after " + timeout + " (a hang): " + String.join(" ", command) + "\n" + result);
            }
            return result;
        }
    }

    /** Runs CrashApp. agentOptions null means no agent. */
    static Result run(Path javaHome, String name, String agentOptions, Duration timeout, List<String> jvmFlags,
                      String... appArgs) throws IOException, InterruptedException {
        return builder(javaHome, name).agent(agentOptions).timeout(timeout).jvmFlags(jvmFlags).args(appArgs).run();
    }

    /** Runs CrashApp with extra environment variables. agentOptions null means no agent. */
    static Result run(Path javaHome, String name, String agentOptions, Duration timeout, List<String> jvmFlags,
                      Map<String, String> environment, String... appArgs) throws IOException, InterruptedException {
        return builder(javaHome, name).agent(agentOptions).timeout(timeout).jvmFlags(jvmFlags).environment(environment)
                .args(appArgs).run();
    }

    static Result run(Path javaHome, String name, String agentOptions, String... appArgs)
            throws IOException, InterruptedException {
        return run(javaHome, name, agentOptions, Duration.ofSeconds(60), List.of(), appArgs);
    }
}
