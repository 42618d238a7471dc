package io.github.crashagent.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Checks real reports against the published schema, schema/crash-report.schema.json. */
final class ReportSchema {
    private static JsonSchema schema;

    private ReportSchema() {}

    private static synchronized JsonSchema schema() throws IOException {
        if (schema == null) {
            Path file = Path.of(System.getProperty("crashagent.schema", "../schema/crash-report.schema.json"));
            try (InputStream in = Files.newInputStream(file)) {
                schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
            }
        }
        return schema;
    }

    /** Every way the report breaks the schema; empty when it matches. */
    static List<String> problems(JsonNode report) throws IOException {
        return schema().validate(report).stream().map(ValidationMessage::toString).map(m -> "schema: " + m).toList();
    }
}
