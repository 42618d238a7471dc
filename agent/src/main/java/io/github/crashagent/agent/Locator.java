package io.github.crashagent.agent;

import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;

/**
 * The agent jar's command line.
 * <ul>
 *   <li>{@code java -jar crashagent-agent.jar path [directory]}: extracts the native agent for
 *       this platform (default directory {@code ~/.cache/crashagent/<version>/<platform>}) and
 *       prints the {@code -agentpath:} flag to use.</li>
 *   <li>{@code java -jar crashagent-agent.jar show <report.json>}: prints a readable summary of a
 *       crash report.</li>
 * </ul>
 * Exit status 0 on success, 1 when the command failed (the message says why), 2 for bad usage.
 */
public final class Locator {
    static final String USAGE = String.join("\n",
            "usage: java -jar crashagent-agent.jar path [directory]",
            "         extracts the native agent for this platform and prints the -agentpath: flag",
            "       java -jar crashagent-agent.jar show <crashagent_pid<pid>.json>",
            "         prints a readable summary of a crash report");

    private Locator() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        try {
            switch (args[0]) {
                case "path" -> {
                    if (args.length > 2) {
                        err.println("crashagent: 'path' takes at most one directory\n" + USAGE);
                        return 2;
                    }
                    Path dir = args.length == 2 ? Path.of(args[1]) : defaultDirectory();
                    out.println("-agentpath:" + extract(dir).toAbsolutePath());
                    return 0;
                }
                case "show" -> {
                    if (args.length != 2) {
                        err.println("crashagent: 'show' takes one report file\n" + USAGE);
                        return 2;
                    }
                    show(CrashReport.read(Path.of(args[1])), out);
                    return 0;
                }
                case "-h", "--help", "help" -> {
                    out.println(USAGE);
                    return 0;
                }
                default -> {
                    err.println("crashagent: unknown command '" + args[0] + "'\n" + USAGE);
                    return 2;
                }
            }
        } catch (NoSuchFileException e) {
            err.println("crashagent: no such file: " + e.getFile());
            return 1;
        } catch (IOException | IllegalStateException | java.nio.file.InvalidPathException e) {
            err.println("crashagent: " + e.getMessage());
            return 1;
        }
    }

    static Path defaultDirectory() {
        return Path.of(System.getProperty("user.home"), ".cache", "crashagent", version(), platform());
    }

    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            throw new IllegalStateException("crashagent supports x86-64 only, not " + arch);
        }
        if (os.startsWith("windows")) return "windows-x86_64";
        if (os.startsWith("linux")) return "linux-x86_64";
        throw new IllegalStateException("crashagent supports Linux and Windows only, not " + os);
    }

    static String libraryName(String platform) {
        return platform.startsWith("windows") ? "crashagent.dll" : "libcrashagent.so";
    }

    static String version() {
        String v = Locator.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Copies native/&lt;platform&gt;/&lt;library&gt; out of this jar into dir. A library already
     * there with the same bytes is left alone (it may be loaded by a running JVM, which on
     * Windows forbids replacing it); a different one is replaced atomically.
     */
    static Path extract(Path dir) throws IOException {
        String platform = platform();
        String name = libraryName(platform);
        String resource = "/native/" + platform + "/" + name;
        byte[] library;
        try (InputStream in = Locator.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("this jar has no " + resource + "; it was built without that platform");
            }
            library = in.readAllBytes();
        }
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        if (Files.isRegularFile(target) && Files.size(target) == library.length
                && Arrays.equals(Files.readAllBytes(target), library)) {
            return target;
        }
        Path tmp = Files.createTempFile(dir, name, ".tmp");
        try {
            Files.write(tmp, library);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    static void show(CrashReport r, PrintStream out) {
        CrashEvent e = r.event();
        out.println("crash report " + r.file());
        out.println("  " + e.kind() + (r.detail() == null ? "" : " (" + r.detail() + ")")
                + " at address 0x" + Long.toHexString(e.faultAddress()) + ", pc 0x" + Long.toHexString(e.pc()));
        if (e.module() != null) {
            out.println("  in " + e.module() + " +0x" + Long.toHexString(e.moduleOffset())
                    + (e.symbol() == null ? "" : " (" + e.symbol() + ")"));
        } else {
            out.println("  in no known module");
        }
        out.println("  native method: " + (e.nativeMethod() == null ? "(unknown)" : e.nativeMethod()));
        out.println("  thread: \"" + e.threadName() + "\" id " + r.threadId()
                + (r.javaThread() == null ? "" : r.javaThread() ? ", Java thread" : ", not a Java thread")
                + (r.threadState() == null ? "" : ", " + r.threadState()));
        out.println("  signature: " + e.signature() + "  (" + r.signatureText() + ")");
        out.println("  time: " + Instant.ofEpochMilli(e.timestamp()) + ", pid " + r.pid() + ", " + r.platform());
        out.println("  jvm: " + (r.jvmVersion() == null ? "(unknown)" : r.jvmVersion()));
        out.println("  hs_err: " + (r.hsErrFile() == null ? "(none expected)" : r.hsErrFile()));
        if (r.note() != null) {
            out.println("  note: " + r.note());
        }
        out.println();
        out.println("Java stack:");
        StackTraceElement[] stack = e.javaStackTrace();
        if (stack.length == 0) {
            out.println("  (none: " + (r.javaStackNote() == null ? "not collected" : r.javaStackNote()) + ")");
        }
        for (StackTraceElement frame : stack) {
            out.println("  at " + frame);
        }
        out.println();
        out.println("Native frames:");
        for (int i = 0; i < e.nativeFrames().size(); i++) {
            out.println("  #" + i + " " + e.nativeFrames().get(i));
        }
        out.println();
        out.println("Listeners (dispatch " + r.dispatchStatus().name().toLowerCase(Locale.ROOT)
                + ", budget " + r.dispatchTimeoutMillis() + " ms):");
        if (r.listenerOutcomes().isEmpty()) {
            out.println("  (none ran)");
        }
        for (CrashReport.ListenerOutcome l : r.listenerOutcomes()) {
            out.println("  " + l.listener() + ": " + l.outcome());
        }
        if (!r.otherCrashes().isEmpty()) {
            out.println();
            out.println("Other threads that crashed meanwhile:");
            for (CrashReport.OtherCrash o : r.otherCrashes()) {
                out.println("  thread " + o.threadId() + " code " + o.code());
            }
        }
        out.println();
        out.println(r.modules().size() + " modules and " + r.registers().size() + " registers are in the report"
                + (r.logFile() == null ? "" : "; the agent log is " + r.logFile()));
    }
}
