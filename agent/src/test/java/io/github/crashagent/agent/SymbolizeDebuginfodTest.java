// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import static io.github.crashagent.agent.ChildJvm.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * show --symbolize with debug info from debuginfod: a JVM crashes in a stripped copy of the test
 * library, and a real debuginfod (Debian package debuginfod) serves a directory that holds only
 * the library's debug file. Small JDK HTTP servers stand in where the real one cannot misbehave
 * on demand: another build's file, HTTP errors, a body without Content-Length, a stalled answer.
 */
@EnabledOnOs(OS.LINUX)
class SymbolizeDebuginfodTest {
    private static final Path JDK = Path.of(System.getProperty("java.home"));
    private static final Path LOOPBACK_SHIM = Path.of(System.getProperty("crashagent.loopbackShim",
            "target/native-test/linux-x86_64/libloopback_bind_shim.so")).toAbsolutePath();
    private static final Duration SERVER_READY_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    static Path shared;

    @TempDir
    Path temp;

    private static Path served;  // holds only the library's debug file
    private static Path debugFile;
    private static Path report;
    private static String buildId;
    private static String crashLine;

    /** The crash every test symbolizes: a null write in the stripped library. */
    @BeforeAll
    static void crashInAStrippedLibrary() throws Exception {
        requireDebuginfod();
        Path lib = Files.createDirectories(shared.resolve("lib")).resolve("libcrashtest.so");
        Files.copy(ChildJvm.TEST_LIBRARY, lib);
        served = Files.createDirectories(shared.resolve("served"));
        debugFile = served.resolve("libcrashtest.so.debug");
        run("objcopy", "--only-keep-debug", lib.toString(), debugFile.toString());
        run("strip", "--strip-debug", "--strip-unneeded", lib.toString());
        buildId = Symbolizer.readBuildId(lib);
        assertEquals(buildId, Symbolizer.readBuildId(debugFile), "strip keeps the build-id");
        ChildJvm.Result r = ChildJvm.builder(JDK, "symbolize-debuginfod").agent("")
                .jvmFlags("-Dcrashagent.testLibrary=" + lib).args("null-write").run();
        report = r.onlyFile("crashagent_pid", ".json");
        assertContains(Files.readString(report), "\"build_id\": \"" + buildId + "\"", r);
        crashLine = nullWriteLine();
    }

    private static void requireDebuginfod() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "debuginfod"))) return;
        }
        fail("debuginfod is not installed: apt-get install debuginfod (.ci/run installs it, and so does the"
                + " native build when it runs as root)");
    }

    /** The line of crashtest.cpp that writes through the null pointer. */
    private static String nullWriteLine() throws IOException {
        Path source = Path.of(System.getProperty("user.dir")).resolve("../cpp/test/jni/crashtest.cpp").normalize();
        List<String> lines = Files.readAllLines(source);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals("*g_null = value;")) return "crashtest.cpp:" + (i + 1);
        }
        throw new IllegalStateException("no null write in " + source);
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + out);
    }

    record Shown(int status, String text) {
        String frameZero() {
            int at = text.indexOf("  #0 ");
            assertTrue(at >= 0, text);
            int end = text.indexOf("  #1 ", at);
            return text.substring(at, end < 0 ? text.length() : end);
        }
    }

    /** show with this environment (the test's own, less any debuginfod settings of the machine, plus env). */
    private Shown show(Map<String, String> env, String... args) {
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.remove("DEBUGINFOD_URLS");
        environment.remove("DEBUGINFOD_CACHE_PATH");
        environment.putAll(env);
        List<String> command = new ArrayList<>(List.of("show"));
        command.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Locator.Host host = new Locator.Host("Linux", "amd64", environment, temp.resolve("home").toString());
        int status = Locator.run(command.toArray(new String[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8), host, getClass().getClassLoader());
        return new Shown(status, out.toString(StandardCharsets.UTF_8));
    }

    private Shown symbolize(String urls, Path cache, String... options) {
        List<String> args = new ArrayList<>(List.of("--symbolize"));
        args.addAll(List.of(options));
        args.add(report.toString());
        Shown shown = show(Map.of("DEBUGINFOD_URLS", urls, "DEBUGINFOD_CACHE_PATH", cache.toString()),
                args.toArray(new String[0]));
        assertEquals(0, shown.status(), shown.text());
        return shown;
    }

    private void assertResolved(Shown shown) {
        assertContains(shown.frameZero(), "write_through_null", shown.text());
        assertContains(shown.frameZero(), "/" + crashLine + ")", shown.text());
    }

    private void assertUnresolved(Shown shown, String reason) {
        assertFalse(shown.frameZero().contains(crashLine), shown.text());
        assertContains(shown.frameZero(), reason, shown.text());
    }

    private static Path cacheEntry(Path cache) {
        return cache.resolve(buildId).resolve("debuginfo");
    }

    /** What the cache holds, by path relative to it: a failed fetch leaves nothing, not even a partial file. */
    private static List<String> cacheFiles(Path cache) throws IOException {
        if (!Files.exists(cache)) return List.of();
        try (Stream<Path> files = Files.walk(cache)) {
            return files.filter(Files::isRegularFile).map(f -> cache.relativize(f).toString()).sorted().toList();
        }
    }

    @Test
    void aRealDebuginfodResolvesTheStrippedLibraryAndTheCacheServesTheNextRun() throws Exception {
        Path cache = temp.resolve("cache");
        String url;
        try (RealDebuginfod server = RealDebuginfod.start(served, temp.resolve("server"))) {
            url = server.url();
            Shown shown = symbolize(url, cache);
            assertResolved(shown);
            assertEquals(List.of(buildId + "/debuginfo"), cacheFiles(cache));
            assertEquals(buildId, Symbolizer.readBuildId(cacheEntry(cache)));
            JsonNode first = ChildJvm.JSON.readTree(symbolize(url, cache, "--json").text()).path("frames").get(0);
            assertEquals(cacheEntry(cache).toString(), first.path("debug_file").asText(), first::toString);
            assertTrue(first.path("problem").isNull(), first::toString);
        }
        // The server is gone: the cache still resolves, and without the cache the reason is the server.
        assertResolved(symbolize(url, cache));
        // The cache is laid out as elfutils' own: its client finds the file there too, offline.
        ProcessBuilder find = new ProcessBuilder("debuginfod-find", "debuginfo", buildId).redirectErrorStream(true);
        find.environment().put("DEBUGINFOD_URLS", url);
        find.environment().put("DEBUGINFOD_CACHE_PATH", cache.toString());
        Process p = find.start();
        String found = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), found);
        assertEquals(cacheEntry(cache).toString(), found.strip());
        Path empty = temp.resolve("empty-cache");
        assertUnresolved(symbolize(url, empty), "(server error at debuginfod " + url + ": ConnectException");
        assertEquals(List.of(), cacheFiles(empty));
    }

    @Test
    void aFileOverTheSizeLimitIsNotFetchedNorCached() throws Exception {
        long size = Files.size(debugFile);
        Path cache = temp.resolve("cache");
        try (RealDebuginfod server = RealDebuginfod.start(served, temp.resolve("server"))) {
            // The real server sends Content-Length: refused before the first byte.
            assertUnresolved(symbolize(server.url(), cache, "--debuginfod-max-size", "1K"),
                    "(over the size limit: debuginfod " + server.url() + " has " + size
                            + " bytes for it, the limit is 1024 bytes (--debuginfod-max-size))");
            assertEquals(List.of(), cacheFiles(cache));
            // One byte more than the file is enough.
            assertResolved(symbolize(server.url(), cache, "--debuginfod-max-size", String.valueOf(size)));
        }
        // A body without Content-Length is cut off at the limit.
        byte[] body = Files.readAllBytes(debugFile);
        try (FakeServer chunked = FakeServer.start(exchange -> {
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        })) {
            Path other = temp.resolve("cache-chunked");
            assertUnresolved(symbolize(chunked.url(), other, "--debuginfod-max-size", "1K"),
                    "(over the size limit: debuginfod " + chunked.url() + " has more than 1024 bytes for it");
            assertEquals(List.of(), cacheFiles(other));
            assertResolved(symbolize(chunked.url(), other));
        }
    }

    @Test
    void aServerThatServesAnotherBuildIsAMismatchAndNothingIsCached() throws Exception {
        Path otherBuild = ChildJvm.agentLibrary();
        String otherId = Symbolizer.readBuildId(otherBuild);
        byte[] body = Files.readAllBytes(otherBuild);
        try (FakeServer wrong = FakeServer.start(exchange -> {
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        })) {
            Path cache = temp.resolve("cache");
            assertUnresolved(symbolize(wrong.url(), cache), "(build-id mismatch: debuginfod " + wrong.url()
                    + " served build-id " + otherId + ", the report " + buildId + ")");
            assertEquals(List.of(), cacheFiles(cache));
            assertEquals(List.of("/buildid/" + buildId + "/debuginfo"), wrong.paths());
        }
    }

    @Test
    void httpErrorsNameTheServerAndStatusAndTheServersAreAskedInOrder() throws Exception {
        try (FakeServer failing = FakeServer.start(exchange -> exchange.sendResponseHeaders(503, -1));
                FakeServer missing = FakeServer.start(exchange -> exchange.sendResponseHeaders(404, -1));
                RealDebuginfod real = RealDebuginfod.start(served, temp.resolve("server"))) {
            assertUnresolved(symbolize(failing.url(), temp.resolve("c1")),
                    "(server error at debuginfod " + failing.url() + ": HTTP 503)");
            assertUnresolved(symbolize(missing.url(), temp.resolve("c2")),
                    "(debug info not found for build-id " + buildId + " in the module file or debuginfod " + missing.url() + ")");
            // The first server without the file does not stop the search; a trailing slash is dropped.
            Path cache = temp.resolve("c3");
            assertResolved(symbolize(missing.url() + "/  " + real.url() + "/", cache));
            assertEquals(List.of("/buildid/" + buildId + "/debuginfo"), missing.paths().subList(1, 2));
            // Now cached: no server is asked at all.
            int before = missing.paths().size();
            assertResolved(symbolize(missing.url() + " " + real.url(), cache));
            assertEquals(before, missing.paths().size());
        }
    }

    @Test
    void aStalledServerIsGivenUpAfterTheTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeServer stalled = FakeServer.start(exchange -> {
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            out.write(new byte[100]);
            out.flush();
            try {
                release.await(5, TimeUnit.MINUTES);  // until the test is over: the client must not wait for it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            out.close();
        })) {
            Path cache = temp.resolve("cache");
            assertUnresolved(symbolize(stalled.url(), cache, "--debuginfod-timeout", "1"),
                    "(server error at debuginfod " + stalled.url() + ": no complete answer in 1 s (--debuginfod-timeout))");
            assertEquals(List.of(), cacheFiles(cache));
        } finally {
            release.countDown();
        }
    }

    @Test
    void aCachedFileOfAnotherBuildIsNotUsedAndTheFetchReplacesIt() throws Exception {
        Path cache = temp.resolve("cache");
        Files.createDirectories(cacheEntry(cache).getParent());
        Files.copy(ChildJvm.agentLibrary(), cacheEntry(cache));
        try (FakeServer down = FakeServer.start(exchange -> exchange.sendResponseHeaders(500, -1))) {
            assertUnresolved(symbolize(down.url(), cache), "(server error at debuginfod " + down.url() + ": HTTP 500)");
        }
        try (RealDebuginfod server = RealDebuginfod.start(served, temp.resolve("server"))) {
            assertResolved(symbolize(server.url(), cache));
        }
        assertEquals(buildId, Symbolizer.readBuildId(cacheEntry(cache)));
    }

    @Test
    void withoutDebuginfodUrlsNothingIsFetchedAndBadSettingsAreRejected() throws Exception {
        Path cache = temp.resolve("cache");
        for (String blank : new String[] {"", "   "}) {
            Shown shown = symbolize(blank, cache);
            assertContains(shown.frameZero(), "(no line information)", shown.text());
            assertFalse(shown.frameZero().contains("debuginfod"), shown.text());
            assertFalse(Files.exists(cache), "no cache without DEBUGINFOD_URLS");
        }
        for (String bad : new String[] {"ftp://example.org", "http://", "127.0.0.1:8002", "http://a b:x"}) {
            Shown shown = show(Map.of("DEBUGINFOD_URLS", bad), "--symbolize", report.toString());
            assertEquals(2, shown.status(), shown.text());
            assertContains(shown.text(), "crashagent: DEBUGINFOD_URLS: '", shown.text());
            assertContains(shown.text(), "' is not an http:// or https:// URL", shown.text());
        }
        for (String size : new String[] {"0", "12X", "-5", "K", "99999999999G"}) {
            Shown shown = show(Map.of(), "--symbolize", "--debuginfod-max-size", size, report.toString());
            assertEquals(2, shown.status(), shown.text());
            assertContains(shown.text(), "--debuginfod-max-size '" + size + "': expected a positive number of bytes,"
                    + " optionally with K, M or G", shown.text());
        }
        for (String seconds : new String[] {"0", "1.5", "ten", "1000000"}) {
            Shown shown = show(Map.of(), "--symbolize", "--debuginfod-timeout", seconds, report.toString());
            assertEquals(2, shown.status(), shown.text());
            assertContains(shown.text(), "--debuginfod-timeout '" + seconds + "': expected a whole number of seconds",
                    shown.text());
        }
        Shown withoutSymbolize = show(Map.of(), "--debuginfod-timeout", "5", report.toString());
        assertEquals(2, withoutSymbolize.status(), withoutSymbolize.text());
        assertContains(withoutSymbolize.text(), "the --debuginfod options go with --symbolize", withoutSymbolize.text());
    }

    @Test
    void aCacheThatCannotBeWrittenIsAReasonNotAFailure() throws Exception {
        Path notADirectory = Files.writeString(temp.resolve("file"), "x");
        try (FakeServer server = FakeServer.start(exchange -> exchange.sendResponseHeaders(500, -1))) {
            Shown shown = symbolize(server.url(), notADirectory.resolve("cache"));
            assertUnresolved(shown, "(cannot use the debuginfod cache " + notADirectory.resolve("cache") + ": ");
            assertEquals(List.of(), server.paths(), "nothing is fetched that could not be kept");
        }
    }

    @Test
    void connectFailuresNameTheirKind() {
        Exception unknownHost = new java.net.ConnectException();
        unknownHost.initCause(new java.nio.channels.UnresolvedAddressException());
        assertEquals("ConnectException (unknown host)", Debuginfod.describe(unknownHost));
        Exception refused = new java.net.ConnectException();
        refused.initCause(new java.nio.channels.ClosedChannelException());
        assertEquals("ConnectException", Debuginfod.describe(refused));
        assertEquals("HttpConnectTimeoutException (HTTP connect timed out)",
                Debuginfod.describe(new java.net.http.HttpConnectTimeoutException("HTTP connect timed out")));
    }

    @Test
    void theCacheIsDebuginfodCachePathElseUnderTheXdgCache() {
        assertEquals(Path.of("/c"), Debuginfod.cacheDirectory(Map.of("DEBUGINFOD_CACHE_PATH", "/c", "XDG_CACHE_HOME", "/x"), "/h"));
        assertEquals(Path.of("/x/crashagent/debuginfod"), Debuginfod.cacheDirectory(Map.of("XDG_CACHE_HOME", "/x"), "/h"));
        assertEquals(Path.of("/h/.cache/crashagent/debuginfod"),
                Debuginfod.cacheDirectory(Map.of("XDG_CACHE_HOME", "relative", "DEBUGINFOD_CACHE_PATH", " "), "/h"));
    }

    @Test
    void sizesTakePowersOf1024() {
        assertEquals(1L, Locator.parseSize("1"));
        assertEquals(1024L, Locator.parseSize("1k"));
        assertEquals(512L << 20, Locator.parseSize("512M"));
        assertEquals(2L << 30, Locator.parseSize("2G"));
        assertEquals(null, Locator.parseSize("1T"));
        assertEquals(null, Locator.parseSize(""));
    }

    /** The real debuginfod over one directory, on 127.0.0.1 only, on a free port. */
    static final class RealDebuginfod implements AutoCloseable {
        private final Process process;
        private final int port;

        private RealDebuginfod(Process process, int port) {
            this.process = process;
            this.port = port;
        }

        static RealDebuginfod start(Path dir, Path work) throws Exception {
            assertTrue(Files.isRegularFile(LOOPBACK_SHIM), "no " + LOOPBACK_SHIM + ": build the agent module first");
            Files.createDirectories(work);
            int port;
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = probe.getLocalPort();
            }
            Path log = work.resolve("debuginfod.log");
            // -F: index ELF/DWARF files under dir; -t 0 -g 0: one scan, no grooming; its own database.
            ProcessBuilder pb = new ProcessBuilder("debuginfod", "-F", "-p", String.valueOf(port), "-t", "0", "-g", "0",
                    "-c", "1", "-d", work.resolve("index.sqlite").toString(), dir.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("LD_PRELOAD", LOOPBACK_SHIM.toString());
            pb.environment().remove("DEBUGINFOD_URLS");  // otherwise it would forward misses upstream
            RealDebuginfod server = new RealDebuginfod(pb.start(), port);
            try {
                server.awaitIndexed(log);
                List<String> listening = listeningAddresses(port);
                assertEquals(List.of("0000000000000000FFFF00000100007F"), listening,
                        "debuginfod should listen on ::ffff:127.0.0.1 (127.0.0.1) only, as /proc/net/tcp{,6} has it");
            } catch (Throwable t) {
                server.close();
                throw t;
            }
            return server;
        }

        String url() {
            return "http://127.0.0.1:" + port;
        }

        /** The local addresses of the listening TCP sockets on port, in /proc/net/tcp{,6} spelling. */
        private static List<String> listeningAddresses(int port) throws IOException {
            String portHex = String.format("%04X", port);
            List<String> addresses = new ArrayList<>();
            for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    // sl local_address rem_address st ...; 0A is LISTEN
                    if (f.length > 3 && f[1].endsWith(":" + portHex) && f[3].equals("0A")) {
                        addresses.add(f[1].substring(0, f[1].indexOf(':')));
                    }
                }
            }
            return addresses;
        }

        /**
         * Ready means the debug file is in the index, which debuginfod's /metrics tells
         * (found_debuginfo_total counts the debug files the scan found); until the port is open
         * the request is refused, and a server that exited fails at once.
         */
        private void awaitIndexed(Path log) throws Exception {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpRequest metrics = HttpRequest.newBuilder(URI.create(url() + "/metrics")).timeout(Duration.ofSeconds(5)).build();
            long deadline = System.nanoTime() + SERVER_READY_TIMEOUT.toNanos();
            String last = "";
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) fail("debuginfod exited with " + process.exitValue() + ": " + Files.readString(log));
                try {
                    last = client.send(metrics, HttpResponse.BodyHandlers.ofString()).body();
                    if (last.lines().anyMatch(l -> l.matches("found_debuginfo_total\\{source=\"files\"\\} [1-9][0-9]*"))) return;
                } catch (IOException notListeningYet) {
                    last = notListeningYet.toString();
                }
                // Between two polls of a local server; the poll, not this pause, decides readiness.
                process.waitFor(20, TimeUnit.MILLISECONDS);
            }
            fail("debuginfod did not index its directory in " + SERVER_READY_TIMEOUT + "; last /metrics: " + last + "\nlog: "
                    + Files.readString(log));
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** A JDK HTTP server on 127.0.0.1 that answers every request with one handler and records the paths. */
    static final class FakeServer implements AutoCloseable {
        private final HttpServer server;
        private final List<String> paths = java.util.Collections.synchronizedList(new ArrayList<>());

        private FakeServer(HttpServer server) {
            this.server = server;
        }

        static FakeServer start(HttpHandler handler) throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            FakeServer fake = new FakeServer(server);
            AtomicInteger threads = new AtomicInteger();
            server.setExecutor(Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "fake-debuginfod-" + threads.incrementAndGet());
                t.setDaemon(true);
                return t;
            }));
            server.createContext("/", (HttpExchange exchange) -> {
                fake.paths.add(exchange.getRequestURI().getPath());
                try {
                    handler.handle(exchange);
                } finally {
                    exchange.close();
                }
            });
            server.start();
            return fake;
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        List<String> paths() {
            return List.copyOf(paths);
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
