// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.fuzz;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.crashagent.CrashReport;
import io.github.crashagent.InvalidCrashReportException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jazzer target for {@link CrashReport#read}: the fuzzer's bytes are the file's content. Properties
 * (docs/java-api.md, "Reading reports"), beyond "no other exception" and Jazzer's -timeout for hangs:
 *
 * <ol>
 *   <li>{@code read} returns a report (for this file, with an event) or throws
 *       {@link InvalidCrashReportException} for this file, whose message starts
 *       {@code crash report <file>: }; never another exception type;</li>
 *   <li>for a file that is not a report (not JSON, or JSON without {@code "schema":
 *       "crashagent-report"}), the message quotes none of its content: it is one of the fixed
 *       messages whose only variable parts are a line and column, a JSON kind and Jackson's limit
 *       names and numbers; the same holds for the cause, if any;</li>
 *   <li>for a report, a message about a field names the field by its JSON pointer (a field the
 *       report has, or lacks for "is missing") and quotes at most 80 characters of a value, then
 *       {@code ...}, as {@code CrashReport.shorten} does.</li>
 * </ol>
 */
public final class CrashReportFuzzer {
    private static final ObjectMapper LENIENT = new ObjectMapper();

    private static final String KIND = "(?:an array|an object|null|a string|a number|a boolean)";
    private static final String LIMIT = "[A-Z][A-Za-z ]+ \\(\\d+\\) exceeds the maximum allowed \\(\\d+, from "
            + "`StreamReadConstraints\\.get[A-Za-z]+\\(\\)`\\)";
    /** Messages for any file: nothing of its content. */
    private static final Pattern ANY_FILE = Pattern.compile(String.join("|",
            "is empty",
            "is not valid JSON(?:: unexpected end-of-input|: a duplicate field)?(?: \\(line \\d+, column \\d+\\))?",
            "exceeds a reading limit: " + LIMIT,
            "is JSON but not an object, so not a crashagent report",
            "is not a crashagent report: \"schema\" is (?:missing|another string|" + KIND
                    + "), expected \"crashagent-report\""));
    /** The cause of a limit, if any: Jackson's message, its location without the source. */
    private static final Pattern LIMIT_CAUSE = Pattern.compile(LIMIT
            + "(?:\\s+at \\[Source: REDACTED \\(`StreamReadFeature\\.INCLUDE_SOURCE_IN_LOCATION` disabled\\); "
            + "line: \\d+, column: \\d+\\])?");
    /**
     * A quoted value: at most 80 characters, then "..." when it was longer. (CrashReport.shorten
     * counts UTF-16 units, a regex code points, so a cut value may have fewer than 80.)
     */
    private static final String VALUE = "(?s:.{0,80}(?:\\.\\.\\.)?)";
    private static final Pattern REPORT_FIELD = Pattern.compile("field (/.*?) (" + String.join("|",
            "is missing",
            "should be (?:a string|a string or null|true, false or null|an integer|a hex string like \"0x7f3a\"|"
                    + "an array|an object), found (?:an array|an object|null|(?:a string|a number|a boolean) " + VALUE + ")",
            "should be a hex string like \"0x7f3a\", found \"" + VALUE + "\"",
            "should be a build-id \\(2 to 64 lowercase hex digits\\), found \"" + VALUE + "\"",
            "is out of range: -?\\d{1,40}",
            "must be 1 or more, found \\d{1,40}",
            "unknown dispatch status \"" + VALUE + "\"",
            "is not a usable path: " + VALUE) + ")", Pattern.DOTALL);
    private static final Pattern NEWER = Pattern.compile("was written by a newer agent: schema_version \\d{1,20}, "
            + "this crashagent-api reads up to " + CrashReport.SCHEMA_VERSION + "; use a crashagent-api as new as the agent");
    /** The pointers CrashReport reads: fixed names and array indices, or a register by its escaped name. */
    private static final Pattern POINTER = Pattern.compile("(?:/[a-z_]+)(?:/(?:\\d+|[a-z_]+))*|/registers/[^/]*",
            Pattern.DOTALL);

    private static Path file;

    private CrashReportFuzzer() {}

    public static void fuzzerInitialize() {
        try {
            // Each input is written to a file: on tmpfs that costs microseconds, on a disk a millisecond.
            Path shm = Path.of("/dev/shm");
            Path dir = Files.isDirectory(shm) && Files.isWritable(shm)
                    ? Files.createTempDirectory(shm, "crashagent-fuzz") : Files.createTempDirectory("crashagent-fuzz");
            dir.toFile().deleteOnExit();
            file = dir.resolve("crashagent_pid1.json");
            file.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void fuzzerTestOneInput(byte[] data) throws IOException {
        Files.write(file, data);
        CrashReport report;
        try {
            report = CrashReport.read(file);
        } catch (InvalidCrashReportException e) {
            checkMessage(data, e);
            return;
        }
        // Any other exception, checked or not, leaves this method and is a finding.
        if (report == null || !report.file().equals(file) || report.event() == null
                || !report.event().reportFile().equals(file)) {
            throw new AssertionError("read returned an incomplete report: " + report);
        }
        report.toString();
    }

    private static void checkMessage(byte[] data, InvalidCrashReportException e) {
        String prefix = "crash report " + file + ": ";
        String message = e.getMessage();
        if (!file.equals(e.file()) || message == null || !message.startsWith(prefix)) {
            throw new AssertionError("the message does not name the file first: " + message, e);
        }
        String problem = message.substring(prefix.length());
        Throwable cause = e.getCause();
        if (cause != null && !LIMIT_CAUSE.matcher(String.valueOf(cause.getMessage())).matches()) {
            throw new AssertionError("the cause may quote the file: " + cause, e);
        }
        if (ANY_FILE.matcher(problem).matches()) {
            return;
        }
        JsonNode root = reportRoot(data);
        if (root == null) {
            throw new AssertionError("the message for a file that is not a report is not one of the fixed ones "
                    + "(it may quote the file): " + problem, e);
        }
        if (NEWER.matcher(problem).matches()) {
            return;
        }
        Matcher field = REPORT_FIELD.matcher(problem);
        if (!field.matches()) {
            throw new AssertionError("a report's message is not a field's problem with a short value: " + problem, e);
        }
        String pointer = field.group(1);
        if (!POINTER.matcher(pointer).matches()) {
            throw new AssertionError("not a pointer CrashReport reads: " + pointer, e);
        }
        boolean missing = root.at(JsonPointer.compile(pointer)).isMissingNode();
        if (missing != field.group(2).equals("is missing")) {
            throw new AssertionError("the pointer does not name the field at fault: " + problem, e);
        }
    }

    /** The parsed file when it is a report (an object with the report's schema), else null. */
    private static JsonNode reportRoot(byte[] data) {
        try {
            JsonNode root = LENIENT.readTree(new String(data, StandardCharsets.UTF_8));
            JsonNode schema = root == null ? null : root.get("schema");
            return schema != null && schema.isTextual() && schema.textValue().equals(CrashReport.SCHEMA) ? root : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
