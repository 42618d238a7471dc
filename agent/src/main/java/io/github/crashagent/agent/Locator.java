package io.github.crashagent.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * {@code java -jar crashagent-agent.jar path [directory]}: extracts the native agent for this
 * platform and prints the {@code -agentpath:} flag to use.
 */
public final class Locator {
    private Locator() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || !args[0].equals("path")) {
            System.err.println("usage: java -jar crashagent-agent.jar path [directory]");
            System.exit(2);
        }
        Path dir = args.length > 1 ? Path.of(args[1])
                : Path.of(System.getProperty("user.home"), ".cache", "crashagent", version(), platform());
        Path lib = extract(dir);
        System.out.println("-agentpath:" + lib.toAbsolutePath());
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

    /** Copies native/&lt;platform&gt;/&lt;library&gt; out of this jar into dir. */
    static Path extract(Path dir) throws IOException {
        String platform = platform();
        String name = libraryName(platform);
        String resource = "/native/" + platform + "/" + name;
        try (InputStream in = Locator.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("this jar has no " + resource + "; it was built without that platform");
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, name, ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Path target = dir.resolve(name);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        }
    }
}
