// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.sentry.NoOpScopes;
import io.sentry.SentryOptions;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Validates the events against Sentry's event JSON schema, {@code relay/event.schema.json} of
 * github.com/getsentry/sentry-data-schemas, which is not part of this project: point the system
 * property {@code sentry.eventSchema} (or the environment variable {@code SENTRY_EVENT_SCHEMA}) at a
 * copy of it to run the test; without one it is skipped.
 */
class EventSchemaTest {
    @TempDir
    Path dir;

    private static Path schemaFile() {
        String file = System.getProperty("sentry.eventSchema", System.getenv("SENTRY_EVENT_SCHEMA"));
        Assumptions.assumeTrue(file != null && !file.isEmpty(),
                "set -Dsentry.eventSchema=<sentry-data-schemas>/relay/event.schema.json to validate events");
        return Path.of(file);
    }

    @Test
    void linuxAndWindowsEventsMatchSentrysEventSchema() throws Exception {
        JsonSchema schema;
        try (InputStream in = Files.newInputStream(schemaFile())) {
            schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(in);
        }
        Reports.install(dir, "null-write", 1_795_279_487_733L);
        Reports.install(dir, "own-thread", 1_795_279_488_733L);
        Reports.install(dir, "null-write", 1_795_279_489_733L, r -> {
            r.put("platform", "windows-x86_64");
            ObjectNode crash = (ObjectNode) r.get("crash");
            crash.put("kind", "EXCEPTION_ACCESS_VIOLATION");
            crash.put("code", 0xC0000005L);
            r.get("modules").forEach(m -> ((ObjectNode) m).putNull("build_id").put("code_id", "6B0F3B1D60000"));
            ((ObjectNode) r.get("modules").get(0)).put("pdb_name", "crashlib.pdb")
                    .put("debug_id", "0F5AE3563076DC88CCEA38B7D2E846A81");
        });
        try (FakeSentry sentry = new FakeSentry()) {
            SentryOptions options = new SentryOptions();
            options.setDsn(sentry.dsn());
            options.setRelease("app@1.2.3");
            CrashAgentIntegration integration = new CrashAgentIntegration(dir);
            integration.register(NoOpScopes.getInstance(), options);
            assertEquals(3, integration.lastRun().get(30, TimeUnit.SECONDS).sent().size());
            for (FakeSentry.Envelope envelope : sentry.events()) {
                JsonNode event = envelope.event().json();
                // sentry-java writes every event_id as 32 hex digits, which Sentry accepts; the
                // schema's "format": "uuid" wants the hyphenated form.
                String id = event.path("event_id").asText();
                ((ObjectNode) event).put("event_id", new java.util.UUID(Long.parseUnsignedLong(id.substring(0, 16), 16),
                        Long.parseUnsignedLong(id.substring(16), 16)).toString());
                Set<ValidationMessage> problems = schema.validate(event);
                assertTrue(problems.isEmpty(), () -> "event does not match Sentry's schema: " + problems + "\n" + event);
            }
        }
    }
}
