// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Fetches a module's debug info by build-id from the debuginfod servers in DEBUGINFOD_URLS
 * ({@code GET <server>/buildid/<id>/debuginfo}), asking the servers in order, bounded in size and
 * time, and keeps what it fetched in a cache laid out as elfutils lays out its own
 * ({@code <cache>/<build-id>/debuginfo}), so that a cache shared with elfutils' tools works both
 * ways. A file is used and cached only when its build-id is the one asked for.
 */
final class Debuginfod {
    static final long DEFAULT_MAX_SIZE = 1L << 30;
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);
    // A server that does not even accept the connection in this time is not worth waiting for.
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Where looking a build-id up ended: a file whose build-id matched, or why there is none;
     * notFound when every server answered that it has no such file.
     */
    record Outcome(Path file, String problem, boolean notFound) {}

    /** Reads a file's build-id (null when it has none); readelf in practice. */
    interface BuildIdReader {
        String read(Path file) throws IOException;
    }

    private final List<URI> servers;
    private final Path cache;
    private final long maxSize;
    private final Duration timeout;
    private final BuildIdReader buildIds;
    private HttpClient client;  // made on the first fetch: a cache hit needs none

    private Debuginfod(List<URI> servers, Path cache, long maxSize, Duration timeout, BuildIdReader buildIds) {
        this.servers = servers;
        this.cache = cache;
        this.maxSize = maxSize;
        this.timeout = timeout;
        this.buildIds = buildIds;
    }

    /**
     * The servers in env's DEBUGINFOD_URLS with the cache in DEBUGINFOD_CACHE_PATH, or else
     * $XDG_CACHE_HOME/crashagent/debuginfod (~/.cache when XDG_CACHE_HOME is unset or not
     * absolute); null when DEBUGINFOD_URLS is unset or blank, so that nothing goes over the network.
     *
     * @throws IllegalArgumentException for an entry of DEBUGINFOD_URLS that is not an http or https URL
     */
    static Debuginfod fromEnvironment(Map<String, String> env, String userHome, long maxSize, Duration timeout,
            BuildIdReader buildIds) {
        List<URI> servers = parseUrls(env.get("DEBUGINFOD_URLS"));
        if (servers.isEmpty()) return null;
        return new Debuginfod(servers, cacheDirectory(env, userHome), maxSize, timeout, buildIds);
    }

    /** DEBUGINFOD_URLS as elfutils reads it: URLs separated by spaces, each without its trailing slashes. */
    static List<URI> parseUrls(String value) {
        List<URI> servers = new ArrayList<>();
        if (value == null) return servers;
        for (String entry : value.trim().split("\\s+")) {
            if (entry.isEmpty()) continue;
            String base = entry.replaceAll("/+$", "");
            URI uri;
            try {
                uri = new URI(base);
            } catch (URISyntaxException e) {
                throw badUrl(entry);
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null
                    || uri.getRawQuery() != null || uri.getRawFragment() != null) {
                throw badUrl(entry);
            }
            servers.add(uri);
        }
        return servers;
    }

    private static IllegalArgumentException badUrl(String entry) {
        return new IllegalArgumentException("DEBUGINFOD_URLS: '" + entry + "' is not an http:// or https:// URL;"
                + " DEBUGINFOD_URLS holds debuginfod server URLs separated by spaces, e.g."
                + " 'https://debuginfod.debian.net http://127.0.0.1:8002'");
    }

    static Path cacheDirectory(Map<String, String> env, String userHome) {
        String configured = env.get("DEBUGINFOD_CACHE_PATH");
        if (configured != null && !configured.isBlank()) return Path.of(configured);
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && xdg.startsWith("/") ? Path.of(xdg) : Path.of(userHome, ".cache");
        return base.resolve("crashagent").resolve("debuginfod");
    }

    List<URI> servers() {
        return servers;
    }

    /**
     * The debug info for buildId (lowercase hex, as the report reader checked): from the cache,
     * else from the first server that has a matching file, which is then cached.
     */
    Outcome find(String buildId) throws IOException {
        Path entry = cache.resolve(buildId).resolve("debuginfo");
        // A cached file is checked too: the cache may be shared, or a file may have been replaced.
        if (Files.isRegularFile(entry) && buildId.equals(buildIds.read(entry))) return new Outcome(entry, null, false);
        List<String> problems = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (URI server : servers) {
            String problem;
            try {
                problem = fetch(server, buildId, entry);
            } catch (CacheUnusable e) {
                // The network's failures are reasons already; this is the disk, the same for every server.
                return new Outcome(null, "cannot use the debuginfod cache " + cache + ": " + describe(e.getCause()), false);
            }
            if (problem == null) return new Outcome(entry, null, false);
            if (problem.isEmpty()) {
                missing.add(server.toString());
            } else {
                problems.add(problem);
            }
        }
        if (!problems.isEmpty()) return new Outcome(null, String.join("; ", problems), false);
        return new Outcome(null, "not found at debuginfod " + String.join(" ", missing), true);
    }

    /** Fetches into entry; null when done, "" when the server has no such file, else why it failed. */
    private String fetch(URI server, String buildId, Path entry) throws IOException {
        URI url = URI.create(server + "/buildid/" + buildId + "/debuginfo");
        Path partial;
        try {
            Files.createDirectories(entry.getParent());
            partial = Files.createTempFile(entry.getParent(), "debuginfo.", ".part");
        } catch (IOException e) {
            throw new CacheUnusable(e);
        }
        try {
            String problem = download(server, url, partial);
            if (problem != null) return problem;
            String served = buildIds.read(partial);
            if (!buildId.equals(served)) {
                return "build-id mismatch: debuginfod " + server + " served "
                        + (served == null ? "a file without a build-id" : "build-id " + served) + ", the report " + buildId;
            }
            // Readers of the cache see either no file or a whole, checked one.
            try {
                Files.move(partial, entry, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new CacheUnusable(e);
            }
            return null;
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    /** Writes the answer's body to file; null when it is there whole, "" for 404, else why not. */
    private String download(URI server, URI url, Path file) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        // No HttpRequest.timeout: it ends at the headers, and the deadline below covers the body too.
        HttpRequest request = HttpRequest.newBuilder(url).GET()
                .header("User-Agent", "crashagent/" + Locator.version()).build();
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            CompletableFuture<HttpResponse<Long>> pending = client().sendAsync(request, info -> info.statusCode() == 200
                    ? new LimitedFileSubscriber(out, maxSize, info.headers().firstValueAsLong("Content-Length").orElse(-1))
                    : HttpResponse.BodySubscribers.replacing(-1L));
            HttpResponse<Long> response;
            try {
                response = pending.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                pending.cancel(true);
                return "server error at debuginfod " + server + ": no complete answer in " + timeout.toSeconds()
                        + " s (--debuginfod-timeout)";
            } catch (InterruptedException e) {
                pending.cancel(true);
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while fetching " + url, e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                TooLarge tooLarge = tooLarge(cause);
                if (tooLarge != null) {
                    return "over the size limit: debuginfod " + server + " has " + tooLarge.describe()
                            + " for it, the limit is " + maxSize + " bytes (--debuginfod-max-size)";
                }
                return "server error at debuginfod " + server + ": " + describe(cause);
            }
            if (response.statusCode() == 404) return "";
            if (response.statusCode() != 200) return "server error at debuginfod " + server + ": HTTP " + response.statusCode();
            return null;
        }
    }

    /**
     * The exception's kind, with the first message along its causes. HttpClient's
     * ConnectException has no message, neither for a refused connection nor for an unknown host;
     * only its cause tells the latter.
     */
    static String describe(Throwable t) {
        String detail = null;
        for (Throwable c = t; c != null && detail == null; c = c.getCause()) {
            if (c instanceof java.nio.channels.UnresolvedAddressException) detail = "unknown host";
            else if (c.getMessage() != null && !c.getMessage().isBlank()) detail = c.getMessage();
        }
        return t.getClass().getSimpleName() + (detail == null ? "" : " (" + detail + ")");
    }

    /** The size-limit failure, however deep the client wrapped it. */
    private static TooLarge tooLarge(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof TooLarge tooLarge) return tooLarge;
        }
        return null;
    }

    private synchronized HttpClient client() {
        if (client == null) {
            Duration connect = timeout.compareTo(MAX_CONNECT_TIMEOUT) < 0 ? timeout : MAX_CONNECT_TIMEOUT;
            client = HttpClient.newBuilder().connectTimeout(connect).followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        return client;
    }

    /** The cache directory cannot be made or written: a failure of the disk, not of a server. */
    private static final class CacheUnusable extends IOException {
        CacheUnusable(IOException cause) {
            super(cause);
        }
    }

    /** The body is larger than the limit: declared in Content-Length, or found while reading. */
    private static final class TooLarge extends IOException {
        private final long size;
        private final boolean declared;

        TooLarge(long size, boolean declared) {
            super("over the size limit");
            this.size = size;
            this.declared = declared;
        }

        String describe() {
            return (declared ? "" : "more than ") + size + " bytes";
        }
    }

    /**
     * Writes a body to a file and gives up as soon as it is over the limit, without reading the
     * rest: before the first byte when Content-Length says so, else when the count passes it.
     */
    private static final class LimitedFileSubscriber implements HttpResponse.BodySubscriber<Long> {
        private final FileChannel out;
        private final long limit;
        private final long declaredLength;
        private final CompletableFuture<Long> result = new CompletableFuture<>();
        private Flow.Subscription subscription;
        private long written;

        LimitedFileSubscriber(FileChannel out, long limit, long declaredLength) {
            this.out = out;
            this.limit = limit;
            this.declaredLength = declaredLength;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (declaredLength > limit) {
                s.cancel();
                result.completeExceptionally(new TooLarge(declaredLength, true));
                return;
            }
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (result.isDone()) return;
            try {
                for (ByteBuffer b : buffers) {
                    written += b.remaining();
                    if (written > limit) {
                        subscription.cancel();
                        result.completeExceptionally(new TooLarge(limit, false));
                        return;
                    }
                    while (b.hasRemaining()) out.write(b);
                }
                subscription.request(1);
            } catch (IOException e) {
                subscription.cancel();
                result.completeExceptionally(e);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(written);
        }

        @Override
        public CompletionStage<Long> getBody() {
            return result;
        }
    }
}
