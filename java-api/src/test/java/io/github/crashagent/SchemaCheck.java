// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

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

/** Validates reports against schema/crash-report.schema.json. */
final class SchemaCheck {
    private static JsonSchema schema;

    private SchemaCheck() {}

    static synchronized JsonSchema schema() throws IOException {
        if (schema == null) {
            Path file = Path.of(System.getProperty("crashagent.schema", "../schema/crash-report.schema.json"));
            try (InputStream in = Files.newInputStream(file)) {
                schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
            }
        }
        return schema;
    }

    static Set<ValidationMessage> problems(JsonNode report) throws IOException {
        return schema().validate(report);
    }

    static void assertValid(JsonNode report, Object context) throws IOException {
        Set<ValidationMessage> problems = problems(report);
        assertTrue(problems.isEmpty(), () -> "report does not match the schema: " + problems + "\n" + context);
    }
}
