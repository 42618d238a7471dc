// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import io.sentry.RequestDetails;
import io.sentry.RequestDetailsResolver;
import io.sentry.SentryEnvelope;
import io.sentry.SentryOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import javax.net.ssl.HttpsURLConnection;

/**
 * Posts one envelope to the DSN's envelope endpoint and returns the HTTP status, the way the SDK's
 * own {@code HttpConnection} does (same URL and auth header from {@link RequestDetailsResolver},
 * gzip, the options' proxy, SSL socket factory and timeouts), but synchronously and with the
 * status code in hand.
 *
 * <p>Why not the SDK's transport: {@code AsyncHttpTransport} tells a caller only whether a send
 * succeeded (the {@code SubmissionResult} hint) and whether an I/O error happened (the
 * {@code Retryable} hint); an HTTP 400 and an HTTP 500 look the same there (both "failed, no
 * retry", both discarded from its cache), and the class that knows the status code
 * ({@code io.sentry.transport.HttpConnection}) is package-private. A report must stay pending after
 * a 500 and must not stay pending forever after a 400, so the integration needs the code itself.
 * {@code beforeSend} is no delivery signal at all: it runs before anything is sent.
 *
 * <p>{@link RequestDetailsResolver} is marked experimental and {@code SentryEnvelopeItem} internal
 * in the SDK: this module is built and tested against the SDK version in the project's pom, and a
 * change there shows in its tests, which run the real SDK against a local endpoint.
 */
final class EnvelopePoster {
    /** Status for a send that failed before an HTTP status was read (connection refused, timeout, ...). */
    static final int NO_RESPONSE = -1;

    private final SentryOptions options;

    EnvelopePoster(SentryOptions options) {
        this.options = options;
    }

    /** Status for an envelope the SDK's serializer failed on; nothing was sent. */
    static final int NOT_SERIALIZED = -2;

    /**
     * The HTTP status, {@link #NO_RESPONSE} when the server could not be reached or did not answer,
     * or {@link #NOT_SERIALIZED}.
     */
    int post(SentryEnvelope envelope) {
        byte[] body;
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
                options.getSerializer().serialize(envelope, gzip);
            }
            body = bytes.toByteArray();
        } catch (Exception e) {
            options.getLogger().log(io.sentry.SentryLevel.ERROR, e, "could not serialize a crash report envelope");
            return NOT_SERIALIZED;
        }
        HttpURLConnection connection = null;
        try {
            RequestDetails details = new RequestDetailsResolver(options).resolve();
            Proxy proxy = proxy(options.getProxy());
            connection = (HttpURLConnection) (proxy == null ? details.getUrl().openConnection()
                    : details.getUrl().openConnection(proxy));
            for (Map.Entry<String, String> header : details.getHeaders().entrySet()) {
                connection.setRequestProperty(header.getKey(), header.getValue());
            }
            connection.setRequestMethod("POST");
            connection.setDoOutput(true);
            connection.setRequestProperty("Content-Encoding", "gzip");
            connection.setRequestProperty("Content-Type", "application/x-sentry-envelope");
            connection.setRequestProperty("Accept", "application/json");
            connection.setRequestProperty("Connection", "close");
            connection.setConnectTimeout(options.getConnectionTimeoutMillis());
            connection.setReadTimeout(options.getReadTimeoutMillis());
            if (connection instanceof HttpsURLConnection && options.getSslSocketFactory() != null) {
                ((HttpsURLConnection) connection).setSSLSocketFactory(options.getSslSocketFactory());
            }
            connection.setFixedLengthStreamingMode(body.length);
            try (OutputStream out = connection.getOutputStream()) {
                out.write(body);
            }
            int status = connection.getResponseCode();
            drain(status >= 400 ? connection.getErrorStream() : connection.getInputStream());
            return status;
        } catch (IOException | RuntimeException e) {
            return NO_RESPONSE;
        } finally {
            if (connection != null) {
                connection.disconnect();
            }
        }
    }

    private static void drain(InputStream in) {
        if (in == null) {
            return;
        }
        try (in) {
            in.readNBytes(64 * 1024);
        } catch (IOException ignored) {
            // the status is known; the body is only read to free the connection
        }
    }

    private static Proxy proxy(SentryOptions.Proxy p) {
        if (p == null || p.getHost() == null || p.getPort() == null) {
            return null;
        }
        try {
            return new Proxy(p.getType() != null ? p.getType() : Proxy.Type.HTTP,
                    new InetSocketAddress(p.getHost(), Integer.parseInt(p.getPort())));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
