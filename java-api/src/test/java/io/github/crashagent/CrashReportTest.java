// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import io.github.crashagent.testing.ReportChecks;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;
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
        ReportChecks.assertMatchesSchema(JSON.readTree(file.toFile()), file);

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
        ReportChecks.assertMatchesSchema(JSON.readTree(file.toFile()), file);
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
            assertFalse(ReportChecks.schemaProblems(report2).isEmpty(), report2::toString);
        }
    }

    @Test
    void readsACrashOnAThreadTheJvmDoesNotKnow() throws Exception {
        Path file = write("crashagent_pid9974.json", fixture("own-thread.json"));
        ReportChecks.assertMatchesSchema(JSON.readTree(file.toFile()), file);
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
    void aPathWithBytesThatAreNotUtf8StillGivesAUsablePath() throws Exception {
        // The agent writes the Latin-1 "café" of a directory name as "caf\udce9" (the escape, in the JSON text).
        Path file = mutated(r -> ((ObjectNode) r.get("report")).put("directory", "/data/cafMARK"));
        Files.writeString(file, Files.readString(file).replace("MARK", "\\udce9"));
        CrashReport report = CrashReport.read(file);
        String expected = "/data/caf" + new String(new byte[] {(byte) 0xe9},
                java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8")));
        assertEquals(Path.of(expected), report.reportDirectory());
        // A real surrogate pair stays what it is.
        assertEquals("/data/\ud83d\ude00", ReportJson.fileSystemText("/data/\ud83d\ude00"));
    }

    @Test
    void theDiagnosisIsReadWhenTheReportHasOne() throws Exception {
        assertNull(CrashReport.read(mutated(r -> {})).diagnosis());  // absent: an earlier agent
        Path file = mutated(r -> ((ObjectNode) r.get("crash")).put("diagnosis", "null pointer dereference (write)"));
        ReportChecks.assertMatchesSchema(JSON.readTree(file.toFile()), file);
        assertEquals("null pointer dereference (write)", CrashReport.read(file).diagnosis());
    }

    @Test
    void modulesCarryTheirBuildIdWhenTheReportHasOne() throws Exception {
        Path file = mutated(r -> ((ObjectNode) r.get("modules").get(0)).put("build_id", "d3b9f574c03e87b96ee42821d08ac712fb1343f6"));
        CrashReport report = CrashReport.read(file);
        assertEquals("d3b9f574c03e87b96ee42821d08ac712fb1343f6", report.modules().get(0).buildId());
        assertNull(report.modules().get(1).buildId());  // absent: as from an agent that predates it
        assertNull(report.modules().get(0).debugId());
        Path windows = mutated(r -> ((ObjectNode) r.get("modules").get(0)).put("pdb_name", "crashlib.pdb")
                .put("debug_id", "0F5AE3563076DC88CCEA38B7D2E846A81").put("code_id", "6B0F3B1D60000").putNull("build_id"));
        ReportChecks.assertMatchesSchema(JSON.readTree(windows.toFile()), windows);
        CrashReport.Module m = CrashReport.read(windows).modules().get(0);
        assertEquals(List.of("crashlib.pdb", "0F5AE3563076DC88CCEA38B7D2E846A81", "6B0F3B1D60000"),
                List.of(m.pdbName(), m.debugId(), m.codeId()));
        assertInvalid(mutated(r -> ((ObjectNode) r.get("modules").get(0)).put("build_id", "not hex")),
                "field /modules/0/build_id should be a build-id (2 to 64 lowercase hex digits), found \"not hex\"");
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
        Path file = mutated(r -> r.put("schema_version", 3));
        assertInvalid(file, "newer agent", "schema_version 3", "reads up to 2");
        assertFalse(ReportChecks.schemaProblems(JSON.readTree(file.toFile())).isEmpty(), "the schema rejects it too");
        assertInvalid(mutated(r -> r.put("schema_version", 0)), "field /schema_version must be 1 or more");
        assertInvalid(mutated(r -> r.put("schema_version", "1")), "field /schema_version should be an integer, found a string");
    }

    @Test
    void versionOneReportsLackTheFieldsThatVersionTwoAlwaysHas() throws Exception {
        // The fixture is a version 1 report: modules without identities, frames without module_index.
        Path v1 = mutated(r -> { });
        JsonNode tree = JSON.readTree(v1.toFile());
        assertEquals(1, tree.path("schema_version").asInt());
        assertTrue(tree.path("modules").get(0).path("build_id").isMissingNode());
        ReportChecks.assertMatchesSchema(tree, v1);
        CrashReport report = CrashReport.read(v1);
        assertEquals(1, report.schemaVersion());
        assertNull(report.modules().get(0).buildId());
        assertNull(report.diagnosis());

        // The same content labelled 2 breaks the schema: version 2 always writes them, null when unknown.
        Set<String> problems = ReportChecks.schemaProblems(((ObjectNode) tree).put("schema_version", 2)).stream()
                .map(Object::toString).collect(Collectors.toSet());
        for (String field : List.of("build_id", "module_index", "diagnosis", "code_blobs_dropped")) {
            assertTrue(problems.stream().anyMatch(p -> p.contains(field)), () -> field + " not required: " + problems);
        }
    }

    @Test
    void hugeFileIsRejectedBeforeItIsRead() throws Exception {
        Path file = dir.resolve("huge.json");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(CrashReport.MAX_FILE_SIZE + 1);
        }
        assertInvalid(file, "is " + (CrashReport.MAX_FILE_SIZE + 1) + " bytes", "more than the " + CrashReport.MAX_FILE_SIZE);
        assertThrows(ReportFileReader.RefusedException.class, () -> CrashReport.read(file, neverOpens(), false));
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
            assertFalse(ReportChecks.schemaProblems(report).isEmpty(), report::toString);
        }
    }

    @Test
    void unknownFieldsOfTheSameVersionAreIgnored() throws Exception {
        Path file = mutated(r -> r.put("added_later", true));
        assertEquals("SIGSEGV", CrashReport.read(file).event().kind());
    }

    /** Makes a FIFO at path with mkfifo, or skips the test where there is none. */
    static Path mkfifo(Path path) throws Exception {
        Process mkfifo;
        try {
            mkfifo = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("mkfifo is not available: " + e);
            throw e;
        }
        Assumptions.assumeTrue(mkfifo.waitFor() == 0, () -> "mkfifo failed: " + output(mkfifo));
        return path;
    }

    private static String output(Process p) {
        try {
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Gives file to uid 12345, or skips the test when this user may not (it takes root). */
    static void giveToAnotherUser(Path file) {
        Assumptions.assumeTrue(triedToGiveToAnotherUser(file),
                () -> "cannot give " + file + " to another user here (that takes root)");
    }

    /** Gives file to uid 12345 if this user may; true if it did. */
    static boolean triedToGiveToAnotherUser(Path file) {
        try {
            Files.setAttribute(file, "unix:uid", OTHER_UID, LinkOption.NOFOLLOW_LINKS);
            return true;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    static final int OTHER_UID = 12345;

    /** Lets a helper stuck in open() on fifo go: opening the other end completes both opens. */
    static void release(Path fifo) throws IOException {
        try (OutputStream writer = Files.newOutputStream(fifo)) {
            writer.flush();
        }
    }

    /** A reader that fails the test if it ever opens a file. */
    static ReportFileReader neverOpens() {
        return new ReportFileReader(ReportFileReader.TIMEOUT, file -> fail("opened " + file));
    }

    @Test
    void aFifoIsRefusedInsteadOfBlockingTheReader() throws Exception {
        Path fifo = mkfifo(dir.resolve("crashagent_pid6.json"));
        assertInvalid(fifo, "is not a regular file");
        assertThrows(ReportFileReader.RefusedException.class, () -> CrashReport.read(fifo, neverOpens(), false));
    }

    @Test
    void aFifoSwappedInAfterTheCheckCannotBlockTheReader() throws Exception {
        Path file = write("crashagent_pid1.json", fixture("null-write.json"));
        mkfifo(dir.resolve("probe.fifo"));  // skips the test now, not inside the reader, without mkfifo
        ReportFileReader reader = new ReportFileReader(Duration.ofMillis(200), checked -> {
            Files.delete(checked);
            try {
                mkfifo(checked);
            } catch (Exception e) {
                throw new IOException(e);
            }
        });
        // Without the bound, open() waits for a writer that never comes: fail rather than hang.
        ReportFileReader.RefusedException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> assertThrows(ReportFileReader.RefusedException.class, () -> CrashReport.read(file, reader, false)));
        assertEquals("crash report " + file + ": could not be opened and read within 200 ms (replaced by a FIFO"
                + " or a device after it was checked?)", e.getMessage());
        assertEquals(1, reader.stuck());
        release(file);
    }

    @Test
    void stuckReadsAreBoundedAndThenFilesAreRefusedWithoutWaiting() throws Exception {
        mkfifo(dir.resolve("probe.fifo"));
        List<Path> fifos = new CopyOnWriteArrayList<>();  // filled on the reading thread
        ReportFileReader reader = new ReportFileReader(Duration.ofMillis(100), checked -> {
            if (fifos.size() < ReportFileReader.MAX_STUCK) {
                Files.delete(checked);
                try {
                    fifos.add(mkfifo(checked));
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        });
        try {
            for (int i = 0; i < ReportFileReader.MAX_STUCK; i++) {
                Path file = write("crashagent_pid" + i + ".json", fixture("null-write.json"));
                assertInvalid(file, reader, "could not be opened and read within 100 ms");
            }
            assertEquals(ReportFileReader.MAX_STUCK, reader.stuck());
            Path next = write("crashagent_pid9.json", fixture("null-write.json"));
            assertInvalid(next, reader, "not opened: 4 earlier report files are still stuck opening or reading");
            assertEquals(ReportFileReader.MAX_STUCK, reader.stuck(), "the refused file got no helper");
        } finally {
            for (Path fifo : fifos) {
                release(fifo);
            }
        }
    }

    static void assertInvalid(Path file, ReportFileReader reader, String fragment) {
        InvalidCrashReportException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> assertThrows(InvalidCrashReportException.class, () -> CrashReport.read(file, reader, false)));
        assertTrue(e.getMessage().startsWith("crash report " + file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
    }

    @Test
    void aSymbolicLinkIsRefusedNotFollowed() throws Exception {
        Path report = write("crashagent_pid1.json", fixture("null-write.json"));
        Path link = Files.createSymbolicLink(dir.resolve("crashagent_pid2.json"), report);
        assertInvalid(link, "is a symbolic link; report files are read only as themselves, never through a link");
        Path dangling = Files.createSymbolicLink(dir.resolve("crashagent_pid3.json"), dir.resolve("nothing.json"));
        assertInvalid(dangling, "is a symbolic link");
        Path secret = write("token.txt", "ghp_S3CR3TT0K3N\n");
        InvalidCrashReportException e = assertInvalid(Files.createSymbolicLink(dir.resolve("crashagent_pid4.json"), secret),
                "is a symbolic link");
        assertFalse(e.getMessage().contains("S3CR3T"), e.getMessage());
        assertThrows(ReportFileReader.RefusedException.class, () -> CrashReport.read(link, neverOpens(), false));
    }

    @Test
    void aReportInALinkedDirectoryIsReadLinksOnTheWayAreFine() throws Exception {
        Path real = Files.createDirectory(dir.resolve("real"));
        Path linkedDir = Files.createSymbolicLink(dir.resolve("linked"), real);
        Files.writeString(real.resolve("crashagent_pid9894.json"), JSON.writeValueAsString(fixture("null-write.json")));
        CrashReport report = CrashReport.read(linkedDir.resolve("crashagent_pid9894.json"));
        assertEquals(9894, report.pid());
        assertEquals(linkedDir.resolve("crashagent_pid9894.json"), report.file());
    }

    @Test
    void aLinkSwappedInAfterTheCheckIsNotFollowed() throws Exception {
        Path file = write("crashagent_pid1.json", fixture("null-write.json"));
        Path elsewhere = Files.writeString(dir.resolve("elsewhere.json"), JSON.writeValueAsString(fixture("null-write.json")));
        ReportFileReader reader = new ReportFileReader(ReportFileReader.TIMEOUT, checked -> {
            Files.delete(checked);
            Files.createSymbolicLink(checked, elsewhere);
        });
        assertInvalid(file, reader, "is a symbolic link");
    }

    @Test
    void aFileReplacedAfterTheCheckIsRefused() throws Exception {
        Path file = write("crashagent_pid1.json", fixture("null-write.json"));
        byte[] sameSize = Files.readAllBytes(file);
        ReportFileReader reader = new ReportFileReader(ReportFileReader.TIMEOUT, checked -> {
            Path replacement = Files.write(dir.resolve("replacement.json"), sameSize);
            Files.move(replacement, checked, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        });
        assertInvalid(file, reader, "was replaced or changed while it was being read; read it again");
    }

    @Test
    void anotherUsersFileCanStillBeReadWhenNamedExplicitly() throws Exception {
        Path file = write("crashagent_pid9894.json", fixture("null-write.json"));
        giveToAnotherUser(file);
        assertEquals(9894, CrashReport.read(file).pid());
        // what pendingReports applies on top
        InvalidCrashReportException e = assertThrows(InvalidCrashReportException.class,
                () -> CrashReport.read(file, neverOpens(), true));
        assertTrue(e.getMessage().endsWith(": is owned by uid " + OTHER_UID + ", not by you (uid "
                + Files.getAttribute(dir, "unix:uid") + ")"), e.getMessage());
    }

    @Test
    void aDirectoryIsNotAReport() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("crashagent_pid5.json"));
        assertInvalid(sub, "is a directory");
    }
}
