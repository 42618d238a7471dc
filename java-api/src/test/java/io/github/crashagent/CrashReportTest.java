// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrashReportTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static ObjectNode fixture(String name) throws IOException {
        try (InputStream in = CrashReportTest.class.getResourceAsStream("/reports/" + name)) {
            return (ObjectNode) JSON.readTree(in);
        }
    }

    Path write(String name, String content) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }

    Path write(String name, JsonNode content) throws IOException {
        return write(name, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(content));
    }

    Path mutated(Consumer<ObjectNode> change) throws IOException {
        ObjectNode report = fixture("null-write.json");
        change.accept(report);
        return write("crashagent_pid1.json", report);
    }

    /** Reading fails with a message that names the file and contains every given fragment. */
    static InvalidCrashReportException assertInvalid(Path file, String... fragments) {
        InvalidCrashReportException e = assertThrows(InvalidCrashReportException.class, () -> CrashReport.read(file));
        assertEquals(file, e.file());
        assertTrue(e.getMessage().startsWith("crash report " + file + ": "), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
        }
        return e;
    }

    @Test
    void readsARealReportFromAJniNullWrite() throws Exception {
        Path file = write("crashagent_pid9894.json", fixture("null-write.json"));
        SchemaCheck.assertValid(JSON.readTree(file.toFile()), file);

        CrashReport report = CrashReport.read(file);
        CrashEvent e = report.event();
        assertEquals("SIGSEGV", e.kind());
        assertEquals(11, e.code());
        assertEquals(0, e.faultAddress());
        assertEquals(0x7f75d441c13aL, e.pc());
        assertEquals("/work/wt-java/agent/target/native-test/linux-x86_64/libcrashtest.so", e.module());
        assertEquals(0x113a, e.moduleOffset());
        assertEquals("_ZN12_GLOBAL__N_118write_through_nullEi", e.symbol());
        assertEquals("main", e.threadName());
        assertTrue(e.javaThread());
        assertEquals("io.github.crashagent.testapp.CrashNative.nullWrite()V", e.nativeMethod());
        assertArrayEquals(new StackTraceElement[] {
                new StackTraceElement("io.github.crashagent.testapp.CrashNative", "nullWrite", "CrashNative.java", -2),
                new StackTraceElement("io.github.crashagent.testapp.CrashApp", "crashInJni", "CrashApp.java", 63),
                new StackTraceElement("io.github.crashagent.testapp.CrashApp", "main", "CrashApp.java", 26)},
                e.javaStackTrace());
        assertTrue(e.javaStackTrace()[0].isNativeMethod());
        assertEquals(List.of("libcrashtest.so+0x113a (_ZN12_GLOBAL__N_118write_through_nullEi+0x11)",
                "libcrashtest.so+0x1176 (Java_io_github_crashagent_testapp_CrashNative_nullWrite+0x1a)",
                "?+0x7f75c09455da"), e.nativeFrames());
        assertEquals("c6c4c11c64046c95", e.signature());
        assertEquals(file, e.reportFile());
        assertEquals(1795279487733L, e.timestamp());

        assertEquals(file, report.file());
        assertEquals(1, report.schemaVersion());
        assertEquals("0.1.0", report.agentVersion());
        assertEquals(9894, report.pid());
        assertEquals("linux-x86_64", report.platform());
        assertEquals("native", report.origin());
        assertEquals("SEGV_MAPERR", report.detail());
        assertEquals(0x7f75d441b000L, report.moduleBase());
        assertEquals(9895, report.threadId());
        assertEquals("java", report.nativeThreadName());
        assertEquals("in native", report.threadState());
        assertNull(report.javaStackNote());
        assertEquals(3, report.nativeFrames().size());
        assertNull(report.nativeFrames().get(2).module());
        assertEquals(0x7f75d441c13aL, report.registers().get("rip"));
        assertEquals(20, report.registers().size());
        assertEquals("rax", report.registers().keySet().iterator().next());
        assertTrue(report.modules().size() > 5);
        assertEquals("OpenJDK 64-Bit Server VM 17.0.15+6-Debian-1deb12u1", report.jvmVersion());
        assertEquals("hs_err_pid9894.log", report.hsErrFile().getFileName().toString());
        assertTrue(report.signatureText().startsWith("libcrashtest.so+0x113a|"));
        assertEquals(CrashReport.DispatchStatus.COMPLETE, report.dispatchStatus());
        assertEquals(5000, report.dispatchTimeoutMillis());
        assertEquals(1, report.listenerOutcomes().size());
        assertEquals("ok", report.listenerOutcomes().get(0).outcome());
        assertTrue(report.otherCrashes().isEmpty());
        assertEquals("crashagent_pid9894.log", report.logFile().getFileName().toString());
        assertEquals(Path.of("/work/wt-java/agent/target/child-jvms/null-write-java-17-openjdk-amd64-789540586904"),
                report.reportDirectory());
        assertNull(report.note());
    }

    @Test
    void aReportWithoutItsDirectoryFromAnOlderAgentStillReads() throws Exception {
        Path file = mutated(r -> ((ObjectNode) r.get("report")).remove("directory"));
        assertNull(CrashReport.read(file).reportDirectory());
    }

    @Test
    void framesInTheJvmsCodeAreNamed() throws Exception {
        Path file = mutated(r -> {
            ((ObjectNode) r.get("native_frames").get(2)).put("jvm_code", "native wrapper for app.Crash.run()V");
            ((ObjectNode) r.get("native_frames").get(0)).putNull("jvm_code");
            ((ObjectNode) r.get("jvm")).put("code_blobs_dropped", 0);
        });
        SchemaCheck.assertValid(JSON.readTree(file.toFile()), file);
        CrashReport report = CrashReport.read(file);
        assertEquals("native wrapper for app.Crash.run()V", report.nativeFrames().get(2).jvmCode());
        assertNull(report.nativeFrames().get(0).jvmCode());
        assertNull(report.nativeFrames().get(1).jvmCode());  // absent: as from an agent that predates it
        assertEquals(List.of("libcrashtest.so+0x113a (_ZN12_GLOBAL__N_118write_through_nullEi+0x11)",
                "libcrashtest.so+0x1176 (Java_io_github_crashagent_testapp_CrashNative_nullWrite+0x1a)",
                "[JVM code: native wrapper for app.Crash.run()V]"), report.event().nativeFrames());
        assertEquals(new CrashReport.NativeFrame(0x7f75c09455daL, null, null, null, null),
                new CrashReport.NativeFrame(0x7f75c09455daL, null, null, null, null, null));

        assertInvalid(mutated(r -> ((ObjectNode) r.get("native_frames").get(2)).put("jvm_code", 7)),
                "field /native_frames/2/jvm_code should be a string or null, found a number 7");
        for (Consumer<ObjectNode> change : List.<Consumer<ObjectNode>>of(
                r -> ((ObjectNode) r.get("native_frames").get(2)).put("jvm_code", 7),
                r -> ((ObjectNode) r.get("native_frames").get(2)).put("jvm_code", ""),
                r -> ((ObjectNode) r.get("jvm")).put("code_blobs_dropped", -1))) {
            ObjectNode report2 = fixture("null-write.json");
            change.accept(report2);
            assertFalse(SchemaCheck.problems(report2).isEmpty(), report2::toString);
        }
    }

    @Test
    void readsACrashOnAThreadTheJvmDoesNotKnow() throws Exception {
        Path file = write("crashagent_pid9974.json", fixture("own-thread.json"));
        SchemaCheck.assertValid(JSON.readTree(file.toFile()), file);
        CrashReport report = CrashReport.read(file);
        assertFalse(report.event().javaThread());
        assertEquals(Boolean.FALSE, report.javaThread());
        assertEquals(0, report.event().javaStackTrace().length);
        assertNull(report.event().nativeMethod());
        assertNull(report.threadState());
        assertEquals("the crashing thread is not a Java thread", report.javaStackNote());
    }

    @Test
    void undecodableBytesInAPathDoNotMakeTheReportUnreadable() throws Exception {
        Path file = mutated(r -> ((ObjectNode) r.get("crash")).put("module", "/opt/MARK/lib.so"));
        byte[] bytes = Files.readAllBytes(file);
        String text = new String(bytes, StandardCharsets.ISO_8859_1).replace("MARK", "\u00ff\u00fe");
        Files.write(file, text.getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("/opt/\ufffd\ufffd/lib.so", CrashReport.read(file).event().module());
    }

    @Test
    void aMissingFileIsAnIoErrorNotAnInvalidReport() {
        assertThrows(NoSuchFileException.class, () -> CrashReport.read(dir.resolve("nothing.json")));
    }

    @Test
    void emptyFile() throws Exception {
        assertInvalid(write("empty.json", ""), "is empty");
        assertInvalid(write("blank.json", "  \n"), "is empty");
    }

    @Test
    void truncatedJson() throws Exception {
        String whole = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(fixture("null-write.json"));
        assertInvalid(write("truncated.json", whole.substring(0, whole.length() / 2)), "is not valid JSON", "end-of-input");
    }

    @Test
    void notJson() throws Exception {
        assertInvalid(write("log.json", "crashagent: native crash report\n"), "is not valid JSON", "line 1");
        assertInvalid(write("array.json", "[1, 2]"), "not an object");
        assertInvalid(write("trailing.json", JSON.writeValueAsString(fixture("null-write.json")) + " {}"),
                "is not valid JSON");
    }

    @Test
    void wrongSchema() throws Exception {
        assertInvalid(mutated(r -> r.put("schema", "other-report")), "is not a crashagent report",
                "\"schema\" is another string, expected \"crashagent-report\"");
        assertInvalid(mutated(r -> r.put("schema", 7)), "\"schema\" is a number, expected \"crashagent-report\"");
        assertInvalid(mutated(r -> r.remove("schema")), "is not a crashagent report", "missing");
        assertInvalid(write("other.json", "{\"name\": \"x\"}"), "is not a crashagent report");
    }

    @Test
    void aFileThatIsNotAReportHasNoneOfItsContentInTheMessage() throws Exception {
        String secret = "ghp_S3CR3TT0K3N";
        for (Path file : List.of(write("token.json", secret + "\n"), write("token2.json", "{\"a\": " + secret + "}"),
                write("schema.json", "{\"schema\": \"" + secret + "\"}"),
                write("key.json", "{\"" + secret + "\": 1, \"" + secret + "\": 2}"),
                write("pin.json", "{\"schema\": 7351937}"), write("flag.json", "{\"schema\": false}"))) {
            InvalidCrashReportException e = assertThrows(InvalidCrashReportException.class, () -> CrashReport.read(file));
            String problem = e.getMessage().substring(("crash report " + file + ": ").length());
            assertFalse(problem.contains("S3CR3T") || problem.contains("7351937") || problem.contains("false"),
                    e.getMessage());
            assertFalse(e.getCause() != null && String.valueOf(e.getCause().getMessage()).contains("S3CR3T"),
                    "the cause quotes the file: " + e.getCause());
        }
    }

    @Test
    void newerSchemaVersion() throws Exception {
        Path file = mutated(r -> r.put("schema_version", 2));
        assertInvalid(file, "newer agent", "schema_version 2", "reads up to 1");
        assertFalse(SchemaCheck.problems(JSON.readTree(file.toFile())).isEmpty(), "the schema rejects it too");
        assertInvalid(mutated(r -> r.put("schema_version", 0)), "field /schema_version must be 1 or more");
        assertInvalid(mutated(r -> r.put("schema_version", "1")), "field /schema_version should be an integer, found a string");
    }

    @Test
    void hugeFileIsRejectedBeforeItIsRead() throws Exception {
        Path file = dir.resolve("huge.json");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(CrashReport.MAX_FILE_SIZE + 1);
        }
        assertInvalid(file, "is " + (CrashReport.MAX_FILE_SIZE + 1) + " bytes", "more than the " + CrashReport.MAX_FILE_SIZE);
    }

    @Test
    void deeplyNestedJson() throws Exception {
        String deep = "{\"schema\": \"crashagent-report\", \"schema_version\": 1, \"note\": "
                + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertInvalid(write("deep.json", deep), "exceeds a reading limit", "nesting depth");
    }

    @Test
    void hugeStringAndManyTokensAreRejected() throws Exception {
        assertInvalid(mutated(r -> r.put("note", "x".repeat(1_000_000))), "exceeds a reading limit", "String value length");
        StringBuilder many = new StringBuilder("{\"schema\": \"crashagent-report\", \"schema_version\": 1, \"modules\": [");
        for (int i = 0; i < 400_000; i++) {
            many.append(i == 0 ? "1" : ",1");
        }
        assertInvalid(write("tokens.json", many.append("]}").toString()), "exceeds a reading limit", "Token count");
    }

    @Test
    void duplicateKeysAreRejected() throws Exception {
        String text = JSON.writeValueAsString(fixture("null-write.json")).replaceFirst("\"pid\":", "\"pid\":1,\"pid\":");
        assertInvalid(write("dup.json", text), "is not valid JSON: a duplicate field");
    }

    @Test
    void wrongTypesNameTheField() throws Exception {
        assertInvalid(mutated(r -> r.put("pid", "9894")), "field /pid should be an integer, found a string \"9894\"");
        assertInvalid(mutated(r -> r.put("pid", -1)), "field /pid is out of range: -1");
        assertInvalid(mutated(r -> r.put("timestamp_ms", 1.5)), "field /timestamp_ms should be an integer");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("crash")).put("pc", 12345)),
                "field /crash/pc should be a hex string like \"0x7f3a\", found a number 12345");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("crash")).put("fault_address", "0xZZ")),
                "field /crash/fault_address should be a hex string", "\"0xZZ\"");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("crash")).put("pc", "0x12345678901234567")),
                "field /crash/pc should be a hex string");
        assertInvalid(mutated(r -> r.put("java_stack", "main")), "field /java_stack should be an array, found a string");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("java_stack").get(1)).put("line", "63")),
                "field /java_stack/1/line should be an integer");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("thread")).put("java", "yes")),
                "field /thread/java should be true, false or null");
        assertInvalid(mutated(r -> r.putArray("crash")), "field /crash should be an object, found an array");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("registers")).put("rip", 7)), "field /registers/rip should be a hex string");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("dispatch")).put("status", "exploded")),
                "field /dispatch/status unknown dispatch status \"exploded\"");
        InvalidCrashReportException e = assertInvalid(mutated(r -> r.putNull("pid")), "field /pid should be an integer, found null");
        assertTrue(e.getMessage().endsWith("found null"), e.getMessage());
        assertInvalid(mutated(r -> r.remove("signature")), "field /signature is missing");
        assertInvalid(mutated(r -> ((ObjectNode) r.get("crash")).remove("kind")), "field /crash/kind is missing");
    }

    @Test
    void aQuotedValueIsCutTo80Characters() throws Exception {
        String longStatus = "exploded" + "x".repeat(10_000);
        InvalidCrashReportException e = assertInvalid(mutated(r -> ((ObjectNode) r.get("dispatch")).put("status", longStatus)),
                "field /dispatch/status unknown dispatch status \"" + longStatus.substring(0, 80) + "...\"");
        assertTrue(e.getMessage().endsWith("...\""), e.getMessage());
        String badPath = "/tmp/\u0000" + "y".repeat(10_000);
        e = assertInvalid(mutated(r -> ((ObjectNode) r.get("jvm")).put("hs_err", badPath)),
                "field /jvm/hs_err is not a usable path: ");
        assertTrue(e.getMessage().length() < 200 + e.file().toString().length(), e.getMessage());
    }

    @Test
    void theSchemaRejectsWhatTheReaderRejects() throws Exception {
        List<Consumer<ObjectNode>> changes = List.of(
                r -> r.put("pid", "9894"),
                r -> ((ObjectNode) r.get("crash")).put("pc", 12345),
                r -> r.put("java_stack", "main"),
                r -> ((ObjectNode) r.get("dispatch")).put("status", "exploded"),
                r -> r.remove("signature"),
                r -> r.put("schema", "other"));
        for (Consumer<ObjectNode> change : changes) {
            ObjectNode report = fixture("null-write.json");
            change.accept(report);
            assertFalse(SchemaCheck.problems(report).isEmpty(), report::toString);
        }
    }

    @Test
    void unknownFieldsOfTheSameVersionAreIgnored() throws Exception {
        Path file = mutated(r -> r.put("added_later", true));
        assertEquals("SIGSEGV", CrashReport.read(file).event().kind());
    }

    @Test
    void aFifoIsRefusedInsteadOfBlockingTheReader() throws Exception {
        Path fifo = dir.resolve("crashagent_pid6.json");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mkfifo.waitFor() == 0, "mkfifo is not available");
        assertInvalid(fifo, "is not a regular file");
    }

    @Test
    void aDirectoryIsNotAReport() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("crashagent_pid5.json"));
        assertInvalid(sub, "is a directory");
    }
}
