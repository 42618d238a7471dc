// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes what it receives to a file, one {@code key: value} per line, in the format the JVM
 * stand-in's listener uses (cpp/test/jvm_standin/standin_vm.cpp), so that the two can be compared.
 */
public final class ViewListener implements CrashListener {
    private final Path file;

    public ViewListener(Path file) {
        this.file = file;
    }

    @Override
    public void onCrash(CrashEvent e) {
        StringBuilder view = new StringBuilder();
        line(view, "kind", e.kind());
        line(view, "origin", e.origin());
        line(view, "code", Long.toString(e.code()));
        line(view, "fault_address", e.hasFaultAddress() ? "0x" + Long.toHexString(e.faultAddress()) : "none");
        line(view, "pc", "0x" + Long.toHexString(e.pc()));
        line(view, "module", e.module());
        line(view, "module_offset", "0x" + Long.toHexString(e.moduleOffset()));
        line(view, "symbol", e.symbol());
        line(view, "thread", e.threadName());
        line(view, "java_thread", Boolean.toString(e.javaThread()));
        line(view, "native_method", e.nativeMethod());
        for (StackTraceElement frame : e.javaStackTrace()) {
            line(view, "java_frame", frame.toString());
        }
        for (String frame : e.nativeFrames()) {
            line(view, "native_frame", frame);
        }
        line(view, "signature", e.signature());
        line(view, "report_file", String.valueOf(e.reportFile()));
        line(view, "timestamp", Long.toString(e.timestamp()));
        try {
            Files.writeString(file, view, StandardCharsets.UTF_8);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void line(StringBuilder view, String key, String value) {
        view.append(key).append(": ").append(value).append('\n');
    }
}
