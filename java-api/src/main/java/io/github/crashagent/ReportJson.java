// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.math.BigInteger;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The only class of this library that uses Jackson: parses a report's text and checks its
 * header. Reached only through {@link CrashReport#read}, after {@link CrashReport#requireJackson()},
 * on the thread of {@link ReportFileReader} that reads the file.
 */
final class ReportJson {
    // A report nests three levels (report > java_stack > frame); its longest strings are paths
    // and symbols of at most a few KiB; its token count is bounded by the agent's fixed tables
    // (512 modules, 64 frames, ...). The limits leave room and still bound memory and time.
    private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(16)
                            .maxStringLength(64 * 1024)
                            .maxNameLength(1024)
                            .maxNumberLength(32)
                            .maxDocumentLength(CrashReport.MAX_FILE_SIZE)
                            .maxTokenCount(200_000)
                            .build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private ReportJson() {}

    /**
     * A report string as the file system names it. The agent writes a byte that is not UTF-8 as
     * U+DC80..U+DCFF (surrogateescape); the bytes go back through the JVM's file name encoding,
     * where what it cannot represent becomes U+FFFD rather than making the path unusable.
     */
    static String fileSystemText(String s) {
        boolean escaped = false;
        for (int i = 0; i < s.length() && !escaped; i++) {
            escaped = isEscapedByte(s, i);
        }
        if (!escaped) return s;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            if (isEscapedByte(s, i)) {
                bytes.write(s.charAt(i) - 0xDC00);
            } else {
                int end = i + (Character.isHighSurrogate(s.charAt(i)) && i + 1 < s.length() ? 2 : 1);
                byte[] utf8 = s.substring(i, end).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
                i = end - 1;
            }
        }
        java.nio.charset.Charset names;
        try {
            names = java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            names = StandardCharsets.UTF_8;
        }
        return new String(bytes.toByteArray(), names);  // unmappable bytes become U+FFFD
    }

    // U+DC80..U+DCFF not preceded by a high surrogate: one escaped byte.
    private static boolean isEscapedByte(String s, int i) {
        char c = s.charAt(i);
        return c >= 0xDC80 && c <= 0xDCFF && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
    }

    /** Parses what in has, which {@link ReportFileReader} bounds; IOExceptions of in pass through. */
    static CrashReport parse(Path file, InputStream in) throws IOException {
        // Paths on Linux are bytes; the agent writes them as they are. Undecodable bytes become
        // U+FFFD rather than making the whole report unreadable. Read and decoded as Jackson goes,
        // so junk is rejected after its first few KiB, not after all of it.
        Reader text = new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE));
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (StreamConstraintsException e) {
            // Its message names the limit and numbers only.
            throw new InvalidCrashReportException(file, "exceeds a reading limit: " + e.getOriginalMessage(), e);
        } catch (JsonProcessingException e) {
            // Jackson's message quotes the offending token. For a file that is not a report (a token
            // file, or /etc/shadow behind a link) that would echo its content, so say only where.
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
            String what = e instanceof JsonEOFException ? ": unexpected end-of-input"
                    : String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field") ? ": a duplicate field" : "";
            throw new InvalidCrashReportException(file, "is not valid JSON" + what + where);
        }
        if (root == null || root.isMissingNode()) {
            throw new InvalidCrashReportException(file, "is empty");
        }
        Fields f = new Fields(file.toAbsolutePath(), root);
        if (!root.isObject()) {
            throw new InvalidCrashReportException(file, "is JSON but not an object, so not a crashagent report");
        }
        JsonNode schema = root.get("schema");
        if (schema == null || !schema.isTextual() || !schema.textValue().equals(CrashReport.SCHEMA)) {
            // Not a report, so nothing of its content is quoted: only what kind of value it has.
            throw new InvalidCrashReportException(file, "is not a crashagent report: \"schema\" is "
                    + (schema == null ? "missing" : schema.isTextual() ? "another string" : Fields.kind(schema))
                    + ", expected \"" + CrashReport.SCHEMA + "\"");
        }
        long version = f.integer("/schema_version");
        if (version > CrashReport.SCHEMA_VERSION) {
            throw new InvalidCrashReportException(file, "was written by a newer agent: schema_version "
                    + version + ", this crashagent-api reads up to " + CrashReport.SCHEMA_VERSION
                    + "; use a crashagent-api as new as the agent");
        }
        if (version < 1) {
            throw f.invalid("/schema_version", "must be 1 or more, found " + version);
        }
        return new CrashReport(f);
    }

    /** The parsed tree behind {@link ReportFields}. */
    private static final class Fields implements ReportFields {
        private final Path file;
        private final JsonNode root;

        Fields(Path file, JsonNode root) {
            this.file = file;
            this.root = root;
        }

        @Override
        public Path file() {
            return file;
        }

        @Override
        public InvalidCrashReportException invalid(String pointer, String problem) {
            return new InvalidCrashReportException(file, "field " + pointer + " " + problem);
        }

        private JsonNode node(String pointer) throws InvalidCrashReportException {
            JsonNode n = root.at(pointer);
            if (n.isMissingNode()) {
                throw invalid(pointer, "is missing");
            }
            return n;
        }

        private InvalidCrashReportException wrongType(String pointer, String expected, JsonNode found) {
            return invalid(pointer, "should be " + expected + ", found " + describe(found));
        }

        /** The value's JSON type, such as "a number": nothing of the value itself. */
        private static String kind(JsonNode n) {
            return switch (n.getNodeType()) {
                case ARRAY -> "an array";
                case OBJECT -> "an object";
                case STRING -> "a string";
                case NUMBER -> "a number";
                case BOOLEAN -> "a boolean";
                case NULL -> "null";
                default -> n.getNodeType().toString().toLowerCase(Locale.ROOT);
            };
        }

        private static String describe(JsonNode n) {
            return n.isContainerNode() || n.isNull() ? kind(n) : kind(n) + " " + CrashReport.shorten(n.toString());
        }

        @Override
        public boolean isMissing(String pointer) {
            return root.at(pointer).isMissingNode();
        }

        @Override
        public boolean isNull(String pointer) throws InvalidCrashReportException {
            return node(pointer).isNull();
        }

        @Override
        public String text(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isTextual()) throw wrongType(pointer, "a string", n);
            return n.textValue();
        }

        @Override
        public String textOrNull(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (n.isNull()) return null;
            if (!n.isTextual()) throw wrongType(pointer, "a string or null", n);
            return n.textValue();
        }

        @Override
        public Path pathOrNull(String pointer) throws InvalidCrashReportException {
            String s = textOrNull(pointer);
            if (s == null || s.isEmpty()) return null;
            try {
                return Path.of(fileSystemText(s));
            } catch (InvalidPathException e) {
                throw invalid(pointer, "is not a usable path: " + CrashReport.shorten(e.getMessage()));
            }
        }

        @Override
        public Boolean boolOrNull(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (n.isNull()) return null;
            if (!n.isBoolean()) throw wrongType(pointer, "true, false or null", n);
            return n.booleanValue();
        }

        @Override
        public long integer(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isIntegralNumber()) throw wrongType(pointer, "an integer", n);
            BigInteger v = n.bigIntegerValue();
            if (v.signum() < 0 || v.bitLength() > 64) throw invalid(pointer, "is out of range: " + v);
            return v.longValue();
        }

        @Override
        public Long integerOrNull(String pointer) throws InvalidCrashReportException {
            if (isMissing(pointer) || node(pointer).isNull()) return null;
            return integer(pointer);
        }

        @Override
        public int int32(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrongType(pointer, "an integer", n);
            return n.intValue();
        }

        @Override
        public long int64(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isIntegralNumber()) throw wrongType(pointer, "an integer", n);
            BigInteger v = n.bigIntegerValue();
            if (v.bitLength() > 63) throw invalid(pointer, "is out of range: " + v);
            return v.longValue();
        }

        @Override
        public long hex(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isTextual()) throw wrongType(pointer, "a hex string like \"0x7f3a\"", n);
            String s = n.textValue();
            if (!s.matches("0x[0-9a-fA-F]{1,16}")) {
                throw invalid(pointer, "should be a hex string like \"0x7f3a\", found \"" + CrashReport.shorten(s) + "\"");
            }
            return Long.parseUnsignedLong(s.substring(2), 16);
        }

        @Override
        public Long hexOrNull(String pointer) throws InvalidCrashReportException {
            return node(pointer).isNull() ? null : hex(pointer);
        }

        @Override
        public int arraySize(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isArray()) throw wrongType(pointer, "an array", n);
            return n.size();
        }

        @Override
        public void object(String pointer) throws InvalidCrashReportException {
            JsonNode n = node(pointer);
            if (!n.isObject()) throw wrongType(pointer, "an object", n);
        }

        @Override
        public List<String> fieldNames(String pointer) throws InvalidCrashReportException {
            object(pointer);
            List<String> names = new ArrayList<>();
            for (Iterator<String> it = root.at(pointer).fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            return names;
        }
    }
}
