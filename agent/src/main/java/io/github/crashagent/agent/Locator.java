// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import io.github.crashagent.Breadcrumb;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.NativeCall;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The agent jar's command line.
 * <ul>
 *   <li>{@code java -jar crashagent-agent.jar path [directory]}: extracts the native agent for
 *       this platform and prints the {@code -agentpath:} flag to use, quoted for the usual
 *       shells of this OS. The default directory:
 *       <ul>
 *         <li>Linux: {@code $XDG_CACHE_HOME/crashagent/<version>/linux-x86_64} (or {@code linux-aarch64}), with
 *             {@code ~/.cache} for {@code $XDG_CACHE_HOME} when that is unset or not absolute (as
 *             the XDG base directory specification says);</li>
 *         <li>Windows: {@code %LOCALAPPDATA%\crashagent\<version>}, with
 *             {@code <user.home>\AppData\Local} when LOCALAPPDATA is unset or not absolute. No
 *             platform folder: LOCALAPPDATA belongs to one machine (it does not roam) and the jar
 *             has one Windows library.</li>
 *       </ul>
 *       Quoting: on Linux the flag is in single quotes (POSIX shells; an embedded {@code '} as
 *       {@code '\''}) when the path has a character a shell would treat specially, such as a
 *       space, and bare otherwise; {@code eval "flag=$(java -jar crashagent-agent.jar path)"}
 *       reads it back in a script. On Windows it is always in double quotes, which cmd.exe and
 *       PowerShell both accept: PowerShell splits a bare argument that starts with {@code -} at
 *       its first {@code .} (PowerShell issue 6291), and the flag always has one. Agent options
 *       go inside the quotes. Double quotes do not stop cmd.exe from expanding {@code %NAME%} or PowerShell
 *       from expanding {@code $name} and {@code `}, so a path with {@code %}, {@code $} or
 *       {@code `} gets a note on stderr.</li>
 *   <li>{@code java -jar crashagent-agent.jar show [--symbolize [--debug-dir DIR]...] <report.json>}:
 *       prints a readable summary of a crash report; with --symbolize, each native frame's function
 *       and file:line (see {@link Symbolizer}), with debug info also fetched from the debuginfod
 *       servers in DEBUGINFOD_URLS (see {@link Debuginfod}).</li>
 * </ul>
 * Exit status 0 on success, 1 when the command failed (the message says why), 2 for bad usage.
 */
public final class Locator {
    static final String USAGE = String.join("\n",
            "usage: java -jar crashagent-agent.jar path [directory]",
            "         extracts the native agent for this platform and prints the -agentpath: flag,",
            "         quoted for this OS's shells when needed (always in double quotes on Windows);",
            "         default directory: $XDG_CACHE_HOME (else ~/.cache)/crashagent/<version>/linux-x86_64 (or linux-aarch64)",
            "         on Linux, %LOCALAPPDATA%\\crashagent\\<version> on Windows",
            "       java -jar crashagent-agent.jar show [--symbolize [--debug-dir DIR]... [--json]",
            "                [--debuginfod-max-size SIZE] [--debuginfod-timeout SECONDS]] <crashagent_pid<pid>.json>",
            "         prints a readable summary of a crash report; --symbolize adds each native frame's",
            "         function and file:line (Linux reports), with llvm-symbolizer, eu-addr2line or addr2line,",
            "         from DIR/.build-id/xx/rest.debug, a file of the module's name in DIR, the module itself,",
            "         or the debuginfod servers in DEBUGINFOD_URLS (cached in DEBUGINFOD_CACHE_PATH, default",
            "         ~/.cache/crashagent/debuginfod), each only when its build-id matches the report's;",
            "         a fetch is limited to SIZE bytes (K, M, G allowed; default 1G) and SECONDS (default 120);",
            "         --json prints the frames as JSON");

    // A POSIX shell passes these on as they are; anything else gets the flag single-quoted.
    private static final Pattern POSIX_PLAIN = Pattern.compile("[A-Za-z0-9@%+=:,./_-]+");
    // Expanded by cmd.exe (%NAME%) or PowerShell ($name, `) even inside double quotes.
    private static final Pattern WINDOWS_EXPANDED = Pattern.compile("[%$`]");

    private Locator() {}

    /**
     * The facts about the machine that the locator depends on: {@code os.name}, {@code os.arch},
     * the environment and {@code user.home}. Package-private so that tests on Linux can run the
     * Windows logic too.
     */
    record Host(String osName, String osArch, Map<String, String> env, String userHome) {
        static Host current() {
            return new Host(System.getProperty("os.name"), System.getProperty("os.arch"), System.getenv(),
                    System.getProperty("user.home"));
        }

        boolean windows() {
            return osName.toLowerCase(Locale.ROOT).startsWith("windows");
        }

        /** The jar's folder for this host, native/&lt;platform&gt;/. */
        String platform() {
            String os = osName.toLowerCase(Locale.ROOT);
            String arch = osArch.toLowerCase(Locale.ROOT);
            boolean x64 = arch.equals("amd64") || arch.equals("x86_64");
            boolean arm64 = arch.equals("aarch64") || arch.equals("arm64");
            if (!x64 && !arm64) {
                throw new IllegalStateException("crashagent supports x86-64 and (on Linux) aarch64 only, not " + arch);
            }
            if (windows()) {
                if (arm64) throw new IllegalStateException("crashagent supports Windows on x86-64 only, not " + arch);
                return "windows-x86_64";
            }
            if (os.startsWith("linux")) return arm64 ? "linux-aarch64" : "linux-x86_64";
            throw new IllegalStateException("crashagent supports Linux and Windows only, not " + osName);
        }

        String libraryName() {
            return windows() ? "crashagent.dll" : "libcrashagent.so";
        }

        /**
         * The directory {@code path} extracts to when given none, spelt the way this host spells
         * paths (so the Windows one can be checked on Linux too).
         */
        String defaultDirectory(String version) {
            if (windows()) {
                String local = env.get("LOCALAPPDATA");
                String base = local != null && windowsAbsolute(local) ? local : join("\\", userHome, "AppData", "Local");
                return join("\\", base, "crashagent", version);
            }
            String cache = env.get("XDG_CACHE_HOME");
            String base = cache != null && cache.startsWith("/") ? cache : join("/", userHome, ".cache");
            return join("/", base, "crashagent", version, platform());
        }

        /** The -agentpath: flag for this library, quoted so that this host's usual shells pass it on as one argument. */
        String agentPathFlag(String library) {
            String flag = "-agentpath:" + library;
            if (windows()) {
                // A Windows path cannot contain '"', so nothing inside needs escaping.
                return '"' + flag + '"';
            }
            return POSIX_PLAIN.matcher(flag).matches() ? flag : "'" + flag.replace("'", "'\\''") + "'";
        }

        private static boolean windowsAbsolute(String path) {
            return path.matches("[A-Za-z]:[\\\\/].*") || path.startsWith("\\\\");
        }

        private static String join(String separator, String base, String... names) {
            StringBuilder path = new StringBuilder(base);
            while (path.length() > 0 && separator.equals(path.substring(path.length() - 1))) {
                path.setLength(path.length() - 1);
            }
            for (String name : names) {
                path.append(separator).append(name);
            }
            return path.toString();
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Host.current(), Locator.class.getClassLoader());
    }

    /** Runs a command as on host, with the native libraries that natives has under native/; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err, Host host, ClassLoader natives) {
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
                    Path dir = Path.of(args.length == 2 ? args[1] : host.defaultDirectory(version()));
                    String library = extract(dir, host, natives).toAbsolutePath().toString();
                    out.println(host.agentPathFlag(library));
                    if (host.windows() && WINDOWS_EXPANDED.matcher(library).find()) {
                        err.println("crashagent: note: the path has %, $ or `, which cmd.exe (%NAME%) or PowerShell"
                                + " ($name, `) may expand even inside double quotes; check the flag in your shell"
                                + " or extract to another directory");
                    }
                    return 0;
                }
                case "show" -> {
                    boolean symbolize = false;
                    boolean json = false;
                    List<Path> debugDirs = new ArrayList<>();
                    String report = null;
                    Long maxSize = null;
                    Long timeoutSeconds = null;
                    for (int i = 1; i < args.length; i++) {
                        if (args[i].equals("--debuginfod-max-size") && i + 1 < args.length) {
                            maxSize = parseSize(args[++i]);
                            if (maxSize == null) {
                                err.println("crashagent: --debuginfod-max-size '" + args[i] + "': expected a positive"
                                        + " number of bytes, optionally with K, M or G (powers of 1024), e.g. 512M");
                                return 2;
                            }
                        } else if (args[i].equals("--debuginfod-timeout") && i + 1 < args.length) {
                            timeoutSeconds = args[++i].matches("[0-9]{1,6}") ? Long.valueOf(args[i]) : null;
                            if (timeoutSeconds == null || timeoutSeconds == 0) {
                                err.println("crashagent: --debuginfod-timeout '" + args[i] + "': expected a whole number"
                                        + " of seconds from 1 to 999999");
                                return 2;
                            }
                        } else if (args[i].equals("--symbolize")) {
                            symbolize = true;
                        } else if (args[i].equals("--json")) {
                            json = true;
                        } else if (args[i].equals("--debug-dir") && i + 1 < args.length) {
                            Path dir = Path.of(args[++i]);
                            if (!Files.isDirectory(dir)) {
                                err.println("crashagent: --debug-dir " + dir + ": not a directory");
                                return 2;
                            }
                            debugDirs.add(dir);
                        } else if (args[i].startsWith("-") || report != null) {
                            err.println("crashagent: 'show' takes one report file, --symbolize, --json, --debug-dir DIR,"
                                    + " --debuginfod-max-size SIZE and --debuginfod-timeout SECONDS, not '"
                                    + args[i] + "'\n" + USAGE);
                            return 2;
                        } else {
                            report = args[i];
                        }
                    }
                    if (report == null
                            || (!symbolize && (!debugDirs.isEmpty() || json || maxSize != null || timeoutSeconds != null))) {
                        err.println("crashagent: 'show' takes one report file" + (report == null ? "" : "; --debug-dir,"
                                + " --json and the --debuginfod options go with --symbolize") + "\n" + USAGE);
                        return 2;
                    }
                    Debuginfod debuginfod = null;
                    if (symbolize) {
                        try {
                            debuginfod = Debuginfod.fromEnvironment(host.env(), host.userHome(),
                                    maxSize == null ? Debuginfod.DEFAULT_MAX_SIZE : maxSize,
                                    timeoutSeconds == null ? Debuginfod.DEFAULT_TIMEOUT : Duration.ofSeconds(timeoutSeconds),
                                    Symbolizer::readBuildId);
                        } catch (IllegalArgumentException e) {
                            err.println("crashagent: " + e.getMessage());
                            return 2;
                        }
                    }
                    CrashReport r = CrashReport.read(Path.of(report));
                    Map<Integer, Symbolizer.Result> lines = Map.of();
                    if (symbolize) {
                        Symbolizer symbolizer = Symbolizer.find(debugDirs, debuginfod);
                        lines = symbolizer.symbolize(r);
                        if (json) {
                            out.println(Symbolizer.toJson(r, lines, symbolizer.toolName()));
                            return 0;
                        }
                        out.println("(symbolized with " + symbolizer.toolName() + ")");
                    }
                    show(r, out, lines);
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

    /** A positive byte count, optionally with K, M or G (powers of 1024); null when it is not one. */
    static Long parseSize(String text) {
        java.util.regex.Matcher m = Pattern.compile("([0-9]{1,15})([KMG]?)", Pattern.CASE_INSENSITIVE).matcher(text);
        if (!m.matches()) return null;
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            default -> 0;
        };
        long size = Long.parseLong(m.group(1));
        if (size == 0 || size > (Long.MAX_VALUE >> shift)) return null;
        return size << shift;
    }

    static String version() {
        String v = Locator.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Copies native/&lt;platform&gt;/&lt;library&gt; for host out of natives (this jar) into dir.
     * A library already there with the same bytes is left alone (it may be loaded by a running
     * JVM, which on Windows forbids replacing it); a different one is replaced atomically.
     */
    static Path extract(Path dir, Host host, ClassLoader natives) throws IOException {
        String platform = host.platform();
        String name = host.libraryName();
        String resource = "native/" + platform + "/" + name;
        byte[] library;
        try (InputStream in = natives.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("this jar has no " + resource + "; it was built without " + platform
                        + (host.windows() ? " (-Dcrashagent.windows=false)"
                        : platform.equals("linux-aarch64") ? " (-Dcrashagent.aarch64=false)" : ""));
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

    /** What the application recorded (context, breadcrumbs) and the JNI calls native-calls= traced. */
    static void showApplicationContext(CrashEvent e, PrintStream out) {
        if (!e.context().isEmpty()) {
            out.println();
            out.println("Context:");
            e.context().forEach((key, value) -> out.println("  " + key + " = " + value));
        }
        if (!e.breadcrumbs().isEmpty()) {
            out.println();
            out.println("Breadcrumbs (oldest first, ms before the crash):");
            for (Breadcrumb b : e.breadcrumbs()) {
                out.println(String.format(Locale.ROOT, "  %+8d ms [%s] %s", b.timestamp() - e.timestamp(),
                        b.threadName(), b.message()));
            }
        }
        if (!e.nativeCalls().isEmpty()) {
            out.println();
            out.println("Last native calls of the crashing thread (oldest first, before the crash):");
            for (NativeCall c : e.nativeCalls()) {
                out.println(String.format(Locale.ROOT, "  %+12.3f ms %s %s", c.timeNanos() / 1e6,
                        c.method() == null ? "(unknown method)" : c.method(), c.arguments()));
            }
        }
    }

    static void show(CrashReport r, PrintStream out) {
        show(r, out, Map.of());
    }

    static void show(CrashReport r, PrintStream out, Map<Integer, Symbolizer.Result> lines) {
        CrashEvent e = r.event();
        out.println("crash report " + r.file());
        out.println("  " + e.kind() + (r.detail() == null ? "" : " (" + r.detail() + ")")
                + (e.hasFaultAddress() ? " at address 0x" + Long.toHexString(e.faultAddress()) : "")
                + (r.senderPid().isPresent() ? " sent by process " + r.senderPid().getAsLong() : "")
                + ", pc 0x" + Long.toHexString(e.pc()));
        if (r.diagnosis() != null) {
            out.println("  " + r.diagnosis());
        }
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
            Symbolizer.Result s = lines.get(i);
            if (s == null) continue;
            for (int k = 0; k < s.lines().size(); k++) {
                Symbolizer.Line line = s.lines().get(k);
                out.println("       " + (k == 0 ? "" : "inlined into ") + line.function() + " (" + line.location() + ")");
            }
            if (s.problem() != null) {
                out.println("       (" + s.problem() + ")");
            }
        }
        showApplicationContext(e, out);
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
