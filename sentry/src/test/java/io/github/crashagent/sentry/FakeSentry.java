// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;

/** A Sentry envelope endpoint on 127.0.0.1 that records what it receives and answers a set status. */
final class FakeSentry implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** One item of an envelope: its header and its payload bytes. */
    record Item(JsonNode header, byte[] payload) {
        String type() { return header.path("type").asText(); }
        JsonNode json() {
            try {
                return JSON.readTree(payload);
            } catch (IOException e) {
                throw new AssertionError("item payload is not JSON", e);
            }
        }
        String text() { return new String(payload, StandardCharsets.UTF_8); }
    }

    /** A received envelope. */
    record Envelope(JsonNode header, List<Item> items) {
        Item event() {
            return items.stream().filter(i -> i.type().equals("event")).findFirst()
                    .orElseThrow(() -> new AssertionError("no event item"));
        }
        Map<String, Item> attachments() {
            Map<String, Item> byName = new LinkedHashMap<>();
            items.stream().filter(i -> i.type().equals("attachment"))
                    .forEach(i -> byName.put(i.header().path("filename").asText(), i));
            return byName;
        }
    }

    private final HttpServer server;
    final AtomicInteger status = new AtomicInteger(200);
    /** Statuses for the next requests, one each, before {@link #status} applies again. */
    final java.util.Queue<Integer> nextStatuses = new java.util.concurrent.ConcurrentLinkedQueue<>();
    final List<Envelope> envelopes = new CopyOnWriteArrayList<>();
    final AtomicInteger requests = new AtomicInteger();
    /** When set, each request waits (at most 30 s) until it is counted down before it is answered. */
    volatile java.util.concurrent.CountDownLatch hold;

    FakeSentry() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-sentry");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    String dsn() {
        return "http://key@127.0.0.1:" + server.getAddress().getPort() + "/1";
    }

    /** The events received, as envelopes that hold one. */
    List<Envelope> events() {
        List<Envelope> events = new ArrayList<>();
        for (Envelope e : envelopes) {
            if (e.items().stream().anyMatch(i -> i.type().equals("event"))) {
                events.add(e);
            }
        }
        return events;
    }

    private void handle(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
                    body = in.readAllBytes();
                }
            }
            if (exchange.getRequestURI().getPath().equals("/api/1/envelope/")) {
                envelopes.add(parse(body));
            }
            java.util.concurrent.CountDownLatch h = hold;
            if (h != null) {
                try {
                    h.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Integer next = nextStatuses.poll();
            int code = next != null ? next : status.get();
            byte[] answer = (code == 200 ? "{\"id\":\"ok\"}" : "{\"detail\":\"test\"}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(code, answer.length);
            exchange.getResponseBody().write(answer);
        }
    }

    /** Newline-delimited envelope: a header line, then per item a header line and its payload (length bytes when given). */
    static Envelope parse(byte[] body) throws IOException {
        int[] pos = {0};
        JsonNode header = JSON.readTree(line(body, pos));
        List<Item> items = new ArrayList<>();
        while (pos[0] < body.length) {
            byte[] itemHeaderLine = line(body, pos);
            if (itemHeaderLine.length == 0) {
                continue;
            }
            JsonNode itemHeader = JSON.readTree(itemHeaderLine);
            byte[] payload;
            if (itemHeader.has("length")) {
                int length = itemHeader.get("length").asInt();
                payload = java.util.Arrays.copyOfRange(body, pos[0], pos[0] + length);
                pos[0] += length;
                if (pos[0] < body.length && body[pos[0]] == '\n') {
                    pos[0]++;
                }
            } else {
                payload = line(body, pos);
            }
            items.add(new Item(itemHeader, payload));
        }
        return new Envelope(header, items);
    }

    private static byte[] line(byte[] body, int[] pos) {
        int start = pos[0];
        int end = start;
        while (end < body.length && body[end] != '\n') {
            end++;
        }
        pos[0] = Math.min(body.length, end + 1);
        return java.util.Arrays.copyOfRange(body, start, end);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
