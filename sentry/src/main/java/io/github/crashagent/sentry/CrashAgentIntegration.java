// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashReport;
import io.github.crashagent.ReportClaim;
import io.sentry.Attachment;
import io.sentry.Hint;
import io.sentry.IScopes;
import io.sentry.Integration;
import io.sentry.SentryEnvelope;
import io.sentry.SentryEnvelopeItem;
import io.sentry.SentryEvent;
import io.sentry.SentryLevel;
import io.sentry.SentryOptions;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A Sentry integration that sends the crash reports earlier processes left behind: each pending
 * report (see {@link CrashAgent#pendingReports()}) becomes one Sentry event of level {@code fatal}
 * with the native frames, the crashing thread's Java stack, the loaded modules as debug images and
 * the agent log and hs_err file as attachments. Add it to the SDK's options:
 *
 * <pre>{@code
 * Sentry.init(options -> {
 *     options.setDsn("https://...");
 *     options.addIntegration(new CrashAgentIntegration());
 * });
 * }</pre>
 *
 * <p>{@link #register} returns at once; the reports are sent on a daemon thread of their own,
 * newest first, at most {@link #setMaxReportsPerStart(int) maxReportsPerStart} per call. A report
 * is acknowledged ({@link CrashAgent#acknowledge}) only when Sentry answered its envelope with a
 * 2xx status. When the server cannot be reached, times out, answers 429 (rate limited) or 5xx, the
 * report stays pending for the next start and the rest of this run is left pending too. So does
 * 401 or 403: the DSN's key is wrong, revoked or not allowed for the project, which a fixed DSN
 * cures; a warning names the DSN (without its secret). On 413 (too large, often a proxy's limit)
 * the event is sent again without its attachments. Any other 4xx
 * means Sentry will never take that envelope: the report is acknowledged with a
 * warning (logger {@code io.github.crashagent.sentry}) so it is not resent at every start. A report
 * that the options' {@code beforeSend} drops is acknowledged as well.
 *
 * <p>Several processes may start at once against one report directory: before sending a report,
 * a process claims it by creating {@code <report>.sending} (atomically, create-new); the others
 * skip it. A claim older than {@link #DEFAULT_STALE_CLAIM} (a process that died while sending)
 * may be taken over. After claiming, the report is checked again for an acknowledgement, so a
 * report another process has just sent is not sent twice.
 *
 * <p>The event is built from the report alone: release, environment, dist, server name and tags
 * come from the SDK options and {@code beforeSend} runs; the current scope (user, breadcrumbs,
 * contexts of this process) is not applied, since it describes this process, not the one that
 * crashed. The envelope goes to the options' DSN with the options' proxy, SSL socket factory and
 * timeouts, but not through the SDK's transport queue, which cannot tell a caller the HTTP status
 * (see the comment in {@code EnvelopePoster}).
 */
public final class CrashAgentIntegration implements Integration, Closeable {
    /** Reports sent per {@link #register} at most, unless set otherwise. */
    public static final int DEFAULT_MAX_REPORTS = 10;
    /**
     * Largest attachment (agent log, hs_err file), 1 MiB: a longer file is cut to its first 1 MiB,
     * followed by a line that says so. hs_err files are usually 50 to 500 KiB.
     */
    public static final int MAX_ATTACHMENT_BYTES = 1024 * 1024;
    /** Suffix of the claim file created next to a report while it is being sent ({@link ReportClaim}). */
    public static final String CLAIM_SUFFIX = ReportClaim.SUFFIX;
    /**
     * Age after which another process's claim counts as abandoned and may be taken over. Sending
     * one report takes at most the connect plus the read timeout of the options (10 s by default).
     */
    public static final Duration DEFAULT_STALE_CLAIM = ReportClaim.DEFAULT_STALE_AFTER;

    /** What one {@link #register} did with the pending reports, by report file. */
    public record Summary(List<Path> sent, List<Path> rejected, List<Path> leftPending, List<Path> skipped) {
        public Summary {
            sent = List.copyOf(sent);
            rejected = List.copyOf(rejected);
            leftPending = List.copyOf(leftPending);
            skipped = List.copyOf(skipped);
        }

        static final Summary NONE = new Summary(List.of(), List.of(), List.of(), List.of());
    }

    private static final System.Logger LOG = System.getLogger("io.github.crashagent.sentry");

    private final Path reportDirectory;
    private volatile int maxReportsPerStart = DEFAULT_MAX_REPORTS;
    private volatile Duration staleClaim = DEFAULT_STALE_CLAIM;
    private volatile CompletableFuture<Summary> lastRun = CompletableFuture.completedFuture(Summary.NONE);
    private volatile long shutdownTimeoutMillis;

    /** Sends the pending reports of the agent's report directory ({@link CrashAgent#pendingReports()}). */
    public CrashAgentIntegration() {
        this.reportDirectory = null;
    }

    /**
     * Sends the pending reports of a given directory ({@link CrashAgent#pendingReports(Path)}),
     * with or without the agent in this process.
     */
    public CrashAgentIntegration(Path reportDirectory) {
        this.reportDirectory = Objects.requireNonNull(reportDirectory, "reportDirectory");
    }

    /** {@link #CrashAgentIntegration(Path)} sending at most maxReportsPerStart reports per start. */
    public CrashAgentIntegration(Path reportDirectory, int maxReportsPerStart) {
        this(reportDirectory);
        setMaxReportsPerStart(maxReportsPerStart);
    }

    /** How many reports one {@link #register} sends at most, newest first; the rest stay pending. */
    public CrashAgentIntegration setMaxReportsPerStart(int maxReportsPerStart) {
        if (maxReportsPerStart < 0) {
            throw new IllegalArgumentException("maxReportsPerStart must not be negative: " + maxReportsPerStart);
        }
        this.maxReportsPerStart = maxReportsPerStart;
        return this;
    }

    public int getMaxReportsPerStart() {
        return maxReportsPerStart;
    }

    /** Age after which a claim ({@code <report>.sending}) is taken to be abandoned; {@link #DEFAULT_STALE_CLAIM} unless set. */
    public CrashAgentIntegration setStaleClaimAfter(Duration age) {
        if (age == null || age.isNegative()) {
            throw new IllegalArgumentException("age must be zero or positive: " + age);
        }
        this.staleClaim = age;
        return this;
    }

    /**
     * The outcome of the latest {@link #register}, complete when it has handled every report it
     * was going to; already complete before the first. Applications can wait on it before exiting
     * right after start.
     */
    public CompletableFuture<Summary> lastRun() {
        return lastRun;
    }

    @Override
    public void register(IScopes scopes, SentryOptions options) {
        Objects.requireNonNull(options, "options");
        if (!options.isEnabled() || options.getDsn() == null || options.getDsn().isEmpty()) {
            options.getLogger().log(SentryLevel.DEBUG, "CrashAgentIntegration: no DSN, crash reports stay pending");
            return;
        }
        if (options.getSdkVersion() != null) {
            options.getSdkVersion().addIntegration("CrashAgent");
        }
        CompletableFuture<Summary> run = new CompletableFuture<>();
        lastRun = run;
        shutdownTimeoutMillis = options.getShutdownTimeoutMillis();
        Thread sender = new Thread(() -> {
            try {
                run.complete(sendPending(options));
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "crash reports: sending to Sentry failed; they stay pending", t);
                run.completeExceptionally(t);
            }
        }, "crashagent-sentry");
        sender.setDaemon(true);
        sender.start();
    }

    /**
     * Called by the SDK when it closes ({@code Sentry.close()}): waits for the reports being sent,
     * at most the options' shutdown timeout ({@code SentryOptions.setShutdownTimeoutMillis}, 2 s by
     * default), so that an application that exits right after starting still sends them. A report
     * not acknowledged by then stays pending; an interrupted send leaves its claim, which is taken
     * over once stale.
     */
    @Override
    public void close() {
        try {
            lastRun.get(shutdownTimeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.log(System.Logger.Level.INFO, "crash reports: still sending after " + shutdownTimeoutMillis
                    + " ms; the unsent ones stay pending");
        } catch (ExecutionException e) {
            // logged by the sending thread
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    Summary sendPending(SentryOptions options) throws IOException {
        List<CrashReport> pending = reportDirectory == null
                ? CrashAgent.pendingReports() : CrashAgent.pendingReports(reportDirectory);
        EnvelopePoster poster = new EnvelopePoster(options);
        List<Path> sent = new ArrayList<>();
        List<Path> rejected = new ArrayList<>();
        List<Path> left = new ArrayList<>();
        List<Path> skipped = new ArrayList<>();
        Map<CrashReport, ReportClaim.Fate> fates = ReportClaim.deliverPending(pending, maxReportsPerStart, staleClaim,
                report -> send(report, options, poster));
        fates.forEach((report, fate) -> (switch (fate) {
            case DELIVERED -> sent;
            case REJECTED -> rejected;
            case LEFT -> left;
            case DROPPED, SKIPPED -> skipped;
        }).add(report.file()));
        return new Summary(sent, rejected, left, skipped);
    }

    private ReportClaim.Delivery send(CrashReport report, SentryOptions options, EnvelopePoster poster) throws IOException {
        SentryEvent event = CrashEvents.toEvent(report, options);
        SentryOptions.BeforeSendCallback beforeSend = options.getBeforeSend();
        if (beforeSend != null) {
            try {
                event = beforeSend.execute(event, new Hint());
            } catch (Throwable t) {
                // as the SDK does: a failing beforeSend leaves the event as it was
                options.getLogger().log(SentryLevel.ERROR, t, "beforeSend failed on a crash report event");
            }
            if (event == null) {
                LOG.log(System.Logger.Level.INFO, "crash report " + report.file()
                        + ": beforeSend dropped its event; acknowledged");
                return ReportClaim.Delivery.DROPPED;
            }
        }
        int status = poster.post(envelope(report, options, event, true));
        if (status == 413) {
            // Too large for the server or a proxy in front of it (nginx allows 1 MiB by default):
            // the event alone is small, so it goes again without the attachments.
            LOG.log(System.Logger.Level.WARNING, "crash report " + report.file()
                    + ": Sentry answered HTTP 413 (too large); sending the event again without attachments");
            status = poster.post(envelope(report, options, event, false));
        }
        if (status >= 200 && status < 300) {
            return ReportClaim.Delivery.DELIVERED;
        }
        if (status == 401 || status == 403) {
            // The DSN's key is wrong, revoked or not allowed for this project: every report would be
            // refused alike, and a fixed DSN would take them, so none is dropped.
            String message = "crash report " + report.file() + ": Sentry refused the DSN with HTTP " + status
                    + " (check the DSN's public key and project id: " + describeDsn(options.getDsn())
                    + "); the report stays pending for the next start";
            LOG.log(System.Logger.Level.WARNING, message);
            options.getLogger().log(SentryLevel.WARNING, message);
            return ReportClaim.Delivery.RETRY;
        }
        if (status >= 400 && status < 500 && status != 429) {
            String message = "crash report " + report.file() + ": Sentry rejected its event with HTTP " + status
                    + ", which a retry would not change; acknowledged so it is not sent again";
            LOG.log(System.Logger.Level.WARNING, message);
            options.getLogger().log(SentryLevel.WARNING, message);
            return ReportClaim.Delivery.REJECTED;
        }
        String why = status == EnvelopePoster.NO_RESPONSE ? "Sentry could not be reached"
                : "Sentry answered HTTP " + status;
        String message = "crash report " + report.file() + ": " + why + "; it stays pending for the next start";
        LOG.log(System.Logger.Level.INFO, message);
        options.getLogger().log(SentryLevel.INFO, message);
        return ReportClaim.Delivery.RETRY;
    }

    private static SentryEnvelope envelope(CrashReport report, SentryOptions options, SentryEvent event,
                                           boolean withAttachments) throws IOException {
        List<SentryEnvelopeItem> items = new ArrayList<>();
        items.add(SentryEnvelopeItem.fromEvent(options.getSerializer(), event));
        if (withAttachments) {
            addAttachment(items, options, logFile(report), "text/plain");
            addAttachment(items, options, report.hsErrFile(), "text/plain");
        }
        return new SentryEnvelope(event.getEventId(), options.getSdkVersion(), items);
    }

    /** The DSN without its secret parts, for a warning: scheme, host, port, path and the public key's first 4 characters. */
    static String describeDsn(String dsn) {
        try {
            java.net.URI uri = new java.net.URI(dsn);
            String key = uri.getUserInfo() == null ? "" : uri.getUserInfo().split(":", 2)[0];
            String shownKey = key.length() > 4 ? key.substring(0, 4) + "..." : key;
            return uri.getScheme() + "://" + shownKey + "@" + uri.getHost()
                    + (uri.getPort() >= 0 ? ":" + uri.getPort() : "") + uri.getPath();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "(not a valid URI)";
        }
    }

    /** The agent log next to the report ({@code crashagent_pid<N>.log} beside {@code crashagent_pid<N>.json}), else the one the report names. */
    static Path logFile(CrashReport report) {
        String name = report.file().getFileName().toString();
        if (name.toLowerCase(java.util.Locale.ROOT).endsWith(".json")) {
            Path sibling = report.file().resolveSibling(name.substring(0, name.length() - 5) + ".log");
            if (Files.isRegularFile(sibling, LinkOption.NOFOLLOW_LINKS)) {
                return sibling;
            }
        }
        return report.logFile();
    }

    private static void addAttachment(List<SentryEnvelopeItem> items, SentryOptions options, Path file,
                                      String contentType) {
        if (file == null) {
            return;
        }
        byte[] bytes;
        try {
            bytes = readCapped(file, MAX_ATTACHMENT_BYTES);
        } catch (IOException e) {
            return;
        }
        if (bytes == null) {
            return;
        }
        Attachment attachment = new Attachment(bytes, file.getFileName().toString(), contentType);
        items.add(SentryEnvelopeItem.fromAttachment(options.getSerializer(), options.getLogger(), attachment,
                Math.max(options.getMaxAttachmentSize(), MAX_ATTACHMENT_BYTES + 256)));
    }

    /**
     * The file's first cap bytes, followed by a line saying it was cut when it is longer; null when
     * it is not a regular file (links are not followed).
     */
    static byte[] readCapped(Path file, int cap) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] head = in.readNBytes(cap);
            if (in.read() < 0) {
                return head;
            }
            long size = Files.size(file);
            byte[] marker = ("\n[crashagent: truncated, the first " + cap + " of " + size + " bytes]\n")
                    .getBytes(StandardCharsets.UTF_8);
            byte[] out = new byte[head.length + marker.length];
            System.arraycopy(head, 0, out, 0, head.length);
            System.arraycopy(marker, 0, out, head.length, marker.length);
            return out;
        }
    }
}
