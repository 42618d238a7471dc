// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.opentelemetry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;

/**
 * An OTLP/HTTP logs endpoint ({@code /v1/logs}, protobuf) on 127.0.0.1 that decodes and records
 * what it receives and answers a set status.
 */
final class FakeCollector implements AutoCloseable {
    /** A received record with the resource and scope it came with. */
    record Received(Map<String, AnyValue> resource, String scope, LogRecord record) {
        Map<String, AnyValue> attributes() {
            return FakeCollector.toMap(record.getAttributesList());
        }
        String attribute(String key) {
            AnyValue v = attributes().get(key);
            return v == null ? null : v.hasStringValue() ? v.getStringValue()
                    : v.hasIntValue() ? Long.toString(v.getIntValue()) : v.toString();
        }
    }

    private final HttpServer server;
    final AtomicInteger status = new AtomicInteger(200);
    final AtomicInteger requests = new AtomicInteger();
    final List<Received> records = new CopyOnWriteArrayList<>();

    FakeCollector() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/logs", this::handle);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-collector");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/logs";
    }

    /** Records with a given attribute value, in the order received. */
    List<Received> withAttribute(String key, String value) {
        List<Received> found = new ArrayList<>();
        for (Received r : records) {
            if (value.equals(r.attribute(key))) {
                found.add(r);
            }
        }
        return found;
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
            int code = status.get();
            if (code == 200) {
                // Only what the collector took counts as received.
                ExportLogsServiceRequest request = ExportLogsServiceRequest.parseFrom(body);
                for (ResourceLogs rl : request.getResourceLogsList()) {
                    Map<String, AnyValue> resource = toMap(rl.getResource().getAttributesList());
                    for (ScopeLogs sl : rl.getScopeLogsList()) {
                        for (LogRecord lr : sl.getLogRecordsList()) {
                            records.add(new Received(resource, sl.getScope().getName(), lr));
                        }
                    }
                }
            }
            byte[] answer = code == 200 ? ExportLogsServiceResponse.getDefaultInstance().toByteArray() : new byte[0];
            exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(code, answer.length == 0 ? -1 : answer.length);
            if (answer.length > 0) {
                exchange.getResponseBody().write(answer);
            }
        }
    }

    static Map<String, AnyValue> toMap(List<KeyValue> keyValues) {
        Map<String, AnyValue> map = new LinkedHashMap<>();
        for (KeyValue kv : keyValues) {
            map.put(kv.getKey(), kv.getValue());
        }
        return map;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
