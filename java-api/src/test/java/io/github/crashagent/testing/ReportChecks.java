// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The assertions every module's tests share, kept once in crashagent-api's test-jar: the report
 * schema check (schema/crash-report.schema.json) and a contains check that shows the context.
 */
public final class ReportChecks {
    private static JsonSchema schema;

    private ReportChecks() {}

    /** Every way a report breaks the schema; empty when it matches. */
    public static Set<ValidationMessage> schemaProblems(JsonNode report) throws IOException {
        return schema().validate(report);
    }

    /** Fails when a report does not match the schema, showing the context (a file, a child JVM's run). */
    public static void assertMatchesSchema(JsonNode report, Object context) throws IOException {
        Set<ValidationMessage> problems = schemaProblems(report);
        assertTrue(problems.isEmpty(), () -> "report does not match the schema: " + problems + "\n" + context);
    }

    /** Fails unless text contains fragment, showing both and the context. */
    public static void assertContains(String text, String fragment, Object context) {
        assertTrue(text.contains(fragment), () -> "expected '" + fragment + "' in:\n" + text + "\n" + context);
    }

    public static void assertContains(String text, String fragment) {
        assertContains(text, fragment, "");
    }

    private static synchronized JsonSchema schema() throws IOException {
        if (schema == null) {
            Path file = Path.of(System.getProperty("crashagent.schema", "../schema/crash-report.schema.json"));
            try (InputStream in = Files.newInputStream(file)) {
                schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
            }
        }
        return schema;
    }
}
