// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;

/** An HTTP endpoint on 127.0.0.1 that keeps each request's path and (gunzipped) body and answers a set status. */
final class LocalReceiver implements AutoCloseable {
    record Request(String path, byte[] body) {}

    private final HttpServer server;
    final AtomicInteger status = new AtomicInteger(200);
    final List<Request> requests = new CopyOnWriteArrayList<>();

    LocalReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "local-receiver");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
                    body = in.readAllBytes();
                }
            }
            requests.add(new Request(exchange.getRequestURI().getPath(), body));
            int code = status.get();
            exchange.sendResponseHeaders(code, -1);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
