// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.agent;

import io.github.crashagent.CrashReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a report's native frames into function and file:line, inlined frames included, with the
 * system's tools: the first of llvm-symbolizer, eu-addr2line or addr2line on the PATH, and readelf
 * for build-ids, load addresses and sections. Debug info comes from, in order: --debug-dir trees
 * (the .build-id/xx/rest.debug layout, or plain files whose build-id matches), the module file
 * itself when its build-id matches the report's and it has DWARF, then the debuginfod servers in
 * DEBUGINFOD_URLS (see {@link Debuginfod}); a matching module file without DWARF is the last
 * resort (function names only). Linux (ELF) reports only.
 */
final class Symbolizer {
    /** One line of source for a frame: the innermost first, then what it was inlined into. */
    record Line(String function, String location) {}

    /** What symbolizing one frame gave: lines, or why there are none, and the file they came from. */
    record Result(List<Line> lines, String problem, Path debugFile) {}

    /** Where a module's debug info was found, or why none was; problem may go with a file (one without DWARF). */
    private record Lookup(Path file, String problem) {}

    private static final Pattern BUILD_ID = Pattern.compile("Build ID: ([0-9a-f]+)");
    private static final Pattern FIRST_LOAD = Pattern.compile("(?m)^\\s*LOAD\\s+0x[0-9a-f]+\\s+0x([0-9a-f]+)");
    // A section of DWARF line/unit data that is really there: a stripped or debug-link-only file
    // has none, and in a debug file the code sections are NOBITS but .debug_info is PROGBITS.
    private static final Pattern DWARF_SECTION = Pattern.compile("(?m)^\\s*\\[\\s*\\d+\\]\\s+\\.z?debug_info\\s+(\\S+)");
    private static final Pattern ADDRESS_LINE = Pattern.compile("0x[0-9a-f]+");
    private static final long TOOL_TIMEOUT_SECONDS = 60;

    private final List<String> tool;  // the command before the addresses, without -e FILE
    private final List<Path> debugDirs;
    private final Debuginfod debuginfod;  // null: DEBUGINFOD_URLS unset, no network
    private final Map<Path, String> buildIds = new java.util.HashMap<>();  // readelf once per file

    private Symbolizer(List<String> tool, List<Path> debugDirs, Debuginfod debuginfod) {
        this.tool = tool;
        this.debugDirs = debugDirs;
        this.debuginfod = debuginfod;
    }

    /** The first symbolizer on the PATH, or an IOException that says which package to install. */
    static Symbolizer find(List<Path> debugDirs) throws IOException {
        return find(debugDirs, null);
    }

    /** As {@link #find(List)}, also asking debuginfod (when not null) for what is not on disk. */
    static Symbolizer find(List<Path> debugDirs, Debuginfod debuginfod) throws IOException {
        // All three print the GNU addr2line format with these flags: -a starts each address's
        // block with the address, -f adds the function, -i the frames it was inlined into.
        if (onPath("llvm-symbolizer")) {
            return new Symbolizer(List.of("llvm-symbolizer", "--output-style=GNU", "-a", "-f", "-i", "-C"), debugDirs,
                    debuginfod);
        }
        if (onPath("eu-addr2line")) {
            return new Symbolizer(List.of("eu-addr2line", "-a", "-f", "-i", "-C"), debugDirs, debuginfod);
        }
        if (onPath("addr2line")) return new Symbolizer(List.of("addr2line", "-a", "-f", "-i", "-C"), debugDirs, debuginfod);
        throw new IOException("--symbolize needs llvm-symbolizer, eu-addr2line or addr2line on the PATH; on Debian: "
                + "apt-get install binutils (addr2line), elfutils (eu-addr2line) or llvm (llvm-symbolizer)");
    }

    private static boolean onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) return true;
        }
        return false;
    }

    String toolName() {
        return tool.get(0);
    }

    /**
     * The symbolized frames for tools: {"report", "symbolizer", "frames": [{"index", "frame",
     * "module", "offset", "lines": [{"function", "location"}], "problem", "debug_file"}]}, innermost first.
     */
    static String toJson(CrashReport report, Map<Integer, Result> results, String symbolizer) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode root = json.createObjectNode();
        root.put("report", String.valueOf(report.file()));
        root.put("symbolizer", symbolizer);
        com.fasterxml.jackson.databind.node.ArrayNode frames = root.putArray("frames");
        List<CrashReport.NativeFrame> natives = report.nativeFrames();
        List<String> text = report.event().nativeFrames();
        for (int i = 0; i < natives.size(); i++) {
            com.fasterxml.jackson.databind.node.ObjectNode f = frames.addObject();
            f.put("index", i);
            f.put("frame", i < text.size() ? text.get(i) : null);
            f.put("module", natives.get(i).module());
            Long offset = natives.get(i).offset();
            f.put("offset", offset == null ? null : "0x" + Long.toHexString(offset));
            Result r = results.get(i);
            com.fasterxml.jackson.databind.node.ArrayNode lines = f.putArray("lines");
            if (r != null) {
                for (Line line : r.lines()) lines.addObject().put("function", line.function()).put("location", line.location());
            }
            f.put("problem", r == null ? (natives.get(i).module() == null ? "not in a module" : null) : r.problem());
            f.put("debug_file", r == null || r.debugFile() == null ? null : r.debugFile().toString());
        }
        return json.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    /** Symbolizes every native frame of the report that lies in a module; by frame index. */
    Map<Integer, Result> symbolize(CrashReport report) throws IOException {
        Map<Integer, Result> results = new LinkedHashMap<>();
        Map<String, List<Integer>> framesByModule = new LinkedHashMap<>();
        List<CrashReport.NativeFrame> frames = report.nativeFrames();
        for (int i = 0; i < frames.size(); i++) {
            if (frames.get(i).module() != null && frames.get(i).offset() != null) {
                framesByModule.computeIfAbsent(frames.get(i).module(), m -> new ArrayList<>()).add(i);
            }
        }
        for (Map.Entry<String, List<Integer>> entry : framesByModule.entrySet()) {
            String module = entry.getKey();
            String buildId = reportedBuildId(report, module);
            Lookup lookup = buildId == null ? new Lookup(null, "the report has no build-id for this module")
                    : findDebugFile(Path.of(module), buildId);
            Path debug = lookup.file();
            if (debug == null) {
                for (int i : entry.getValue()) results.put(i, new Result(List.of(), lookup.problem(), null));
                continue;
            }
            long loadAddress = firstLoadAddress(debug);
            List<Long> addresses = new ArrayList<>();
            for (int i : entry.getValue()) addresses.add(loadAddress + frames.get(i).offset());
            List<List<Line>> lines = run(debug, addresses);
            for (int k = 0; k < entry.getValue().size(); k++) {
                List<Line> found = k < lines.size() ? lines.get(k) : List.of();
                String problem = lookup.problem() != null ? lookup.problem() : found.isEmpty() ? "no line information" : null;
                results.put(entry.getValue().get(k), new Result(found, problem, debug));
            }
        }
        return results;
    }

    private static String reportedBuildId(CrashReport report, String module) {
        for (CrashReport.Module m : report.modules()) {
            if (m.path().equals(module)) return m.buildId();
        }
        return null;
    }

    /**
     * Debug info for a module: --debug-dir trees first, then the module file itself if it has
     * DWARF, then debuginfod; a matching module file without DWARF comes last, with debuginfod's
     * reason when it was asked.
     */
    private Lookup findDebugFile(Path module, String buildId) throws IOException {
        for (Path dir : debugDirs) {
            Path byId = dir.resolve(".build-id").resolve(buildId.substring(0, 2)).resolve(buildId.substring(2) + ".debug");
            if (Files.isRegularFile(byId) && buildId.equals(buildIdOf(byId))) return new Lookup(byId, null);
            Path plain = dir.resolve(module.getFileName());
            if (Files.isRegularFile(plain) && buildId.equals(buildIdOf(plain))) return new Lookup(plain, null);
        }
        boolean moduleMatches = Files.isRegularFile(module) && buildId.equals(buildIdOf(module));
        if (moduleMatches && hasDwarf(module)) return new Lookup(module, null);
        if (debuginfod == null) return new Lookup(moduleMatches ? module : null, moduleMatches ? null : notFound(module, buildId));
        Debuginfod.Outcome fetched = debuginfod.find(buildId);
        if (fetched.file() != null) return new Lookup(fetched.file(), null);
        // A server's failure says more than "not found"; a local mismatch is worth keeping beside it.
        String local = notFound(module, buildId);
        String problem = fetched.notFound() ? local
                : local.startsWith("build-id mismatch") ? local + "; " + fetched.problem() : fetched.problem();
        return new Lookup(moduleMatches ? module : null, problem);
    }

    private String notFound(Path module, String buildId) throws IOException {
        List<Path> candidates = new ArrayList<>();
        for (Path dir : debugDirs) candidates.add(dir.resolve(module.getFileName()));
        candidates.add(module);
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                String other = buildIdOf(candidate);
                if (other != null && !other.equals(buildId)) {
                    return "build-id mismatch: " + candidate + " has " + other + ", the report " + buildId;
                }
            }
        }
        List<String> places = new ArrayList<>();
        if (!debugDirs.isEmpty()) places.add(debugDirs.toString());
        places.add("the module file");
        if (debuginfod != null) places.add("debuginfod " + debuginfod.servers().stream().map(Object::toString)
                .collect(java.util.stream.Collectors.joining(" ")));
        return "debug info not found for build-id " + buildId
                + (debugDirs.isEmpty() && debuginfod == null ? " (give --debug-dir or set DEBUGINFOD_URLS)"
                : " in " + String.join(", ", places.subList(0, places.size() - 1)) + " or " + places.get(places.size() - 1));
    }

    /** Whether the file carries DWARF of its own (a stripped library does not). */
    private static boolean hasDwarf(Path file) throws IOException {
        Matcher m = DWARF_SECTION.matcher(output(List.of("readelf", "-SW", file.toString())));
        while (m.find()) {
            if (!m.group(1).equals("NOBITS")) return true;
        }
        return false;
    }

    private String buildIdOf(Path file) throws IOException {
        if (!buildIds.containsKey(file)) buildIds.put(file, readBuildId(file));
        return buildIds.get(file);
    }

    static String readBuildId(Path file) throws IOException {
        Matcher m = BUILD_ID.matcher(output(List.of("readelf", "-n", file.toString())));
        return m.find() ? m.group(1) : null;
    }

    /** The virtual address of the lowest PT_LOAD: module offsets are relative to it. */
    static long firstLoadAddress(Path file) throws IOException {
        Matcher m = FIRST_LOAD.matcher(output(List.of("readelf", "-lW", file.toString())));
        return m.find() ? Long.parseUnsignedLong(m.group(1), 16) & ~0xfffL : 0;
    }

    private List<List<Line>> run(Path file, List<Long> addresses) throws IOException {
        List<String> command = new ArrayList<>(tool);
        command.add("-e");
        command.add(file.toString());
        for (long a : addresses) command.add("0x" + Long.toHexString(a));
        List<List<Line>> blocks = new ArrayList<>();
        List<Line> current = null;
        String[] lines = output(command).split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            if (ADDRESS_LINE.matcher(line).matches()) {
                current = new ArrayList<>();
                blocks.add(current);
            } else if (current != null && i + 1 < lines.length) {
                String location = lines[++i].strip();
                if (!line.equals("??") || !location.startsWith("??")) current.add(new Line(line, location));
            }
        }
        return blocks;
    }

    private static String output(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        // eu-addr2line and llvm-symbolizer would otherwise fetch on their own, past our limits and cache.
        pb.environment().remove("DEBUGINFOD_URLS");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(TOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.get(0) + " did not finish in " + TOOL_TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + command.get(0) + " ran", e);
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
