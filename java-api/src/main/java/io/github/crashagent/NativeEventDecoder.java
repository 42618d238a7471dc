// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds a {@link CrashEvent} from the flat arrays the native dispatcher passes. */
final class NativeEventDecoder {
    // Indexes into the text array; the native side (cpp/src/jvm/dispatcher.cpp) uses the same order.
    static final int KIND = 0, MODULE = 1, SYMBOL = 2, THREAD_NAME = 3, NATIVE_METHOD = 4,
            SIGNATURE = 5, REPORT_FILE = 6, ORIGIN = 7, TEXT_COUNT = 8;
    // Indexes into the numbers array.
    static final int CODE = 0, FAULT_ADDRESS = 1, PC = 2, MODULE_OFFSET = 3, TIMESTAMP = 4,
            JAVA_THREAD = 5, HAS_FAULT_ADDRESS = 6, NUMBER_COUNT = 7;

    private NativeEventDecoder() {}

    static CrashEvent decode(String[] text, long[] numbers, String[] frameClasses,
                             String[] frameMethods, String[] frameFiles, int[] frameLines,
                             String[] nativeFrames, Object[] crashContext) {
        return decode(text, numbers, frameClasses, frameMethods, frameFiles, frameLines, nativeFrames, crashContext,
                null);
    }

    static CrashEvent decode(String[] text, long[] numbers, String[] frameClasses,
                             String[] frameMethods, String[] frameFiles, int[] frameLines,
                             String[] nativeFrames, Object[] crashContext, Object[] crashCalls) {
        if (text.length != TEXT_COUNT || numbers.length != NUMBER_COUNT) {
            throw new IllegalArgumentException("agent and API versions differ: " + text.length
                    + " text fields, " + numbers.length + " numbers");
        }
        StackTraceElement[] stack = new StackTraceElement[frameClasses.length];
        for (int i = 0; i < stack.length; i++) {
            stack[i] = new StackTraceElement(frameClasses[i], frameMethods[i], frameFiles[i], frameLines[i]);
        }
        String report = text[REPORT_FILE];
        return new CrashEvent(text[ORIGIN], text[KIND], numbers[CODE],
                numbers[HAS_FAULT_ADDRESS] != 0 ? Long.valueOf(numbers[FAULT_ADDRESS]) : null, numbers[PC],
                text[MODULE], numbers[MODULE_OFFSET], text[SYMBOL], text[THREAD_NAME],
                numbers[JAVA_THREAD] != 0, text[NATIVE_METHOD], stack,
                Arrays.asList(nativeFrames), text[SIGNATURE],
                report == null ? null : Path.of(report), numbers[TIMESTAMP],
                crashContext == null ? null : context(crashContext), crashContext == null ? null : breadcrumbs(crashContext),
                crashCalls == null ? null : calls(crashCalls, false), crashCalls == null ? null : calls(crashCalls, true));
    }

    // crashCalls is CrashAgent.nativeCrashCalls's {String[] methods, long[] numbers}, see
    // cpp/src/jvm/dispatcher.cpp: the crashing thread's calls, then the process's, 7 numbers each.
    private static List<NativeCall> calls(Object[] crashCalls, boolean process) {
        String[] methods = (String[]) crashCalls[0];
        long[] numbers = (long[]) crashCalls[1];
        int threadCount = (int) numbers[0];
        int first = process ? threadCount : 0;
        int count = process ? (int) numbers[1] : threadCount;
        List<NativeCall> calls = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            int at = 2 + 7 * i;
            List<Long> args = new ArrayList<>();
            for (int a = 0; a < numbers[at + 2]; a++) {
                args.add((numbers[at + 3] & (1L << a)) != 0 ? null : Long.valueOf(numbers[at + 4 + a]));
            }
            calls.add(new NativeCall(methods[i], numbers[at], numbers[at + 1], args));
        }
        return calls;
    }

    // crashContext is CrashAgent.nativeCrashContext's {byte[][] texts, long[] numbers}, see
    // cpp/src/jvm/dispatcher.cpp.
    private static Map<String, String> context(Object[] crashContext) {
        byte[][] texts = (byte[][]) crashContext[0];
        long[] numbers = (long[]) crashContext[1];
        Map<String, String> context = new LinkedHashMap<>();
        for (int i = 0; i < numbers[0]; i++) {
            context.putIfAbsent(utf8(texts[2 * i]), utf8(texts[2 * i + 1]));
        }
        return context;
    }

    private static List<Breadcrumb> breadcrumbs(Object[] crashContext) {
        byte[][] texts = (byte[][]) crashContext[0];
        long[] numbers = (long[]) crashContext[1];
        int first = 2 * (int) numbers[0];
        List<Breadcrumb> breadcrumbs = new ArrayList<>();
        for (int i = 0; i < numbers[1]; i++) {
            breadcrumbs.add(new Breadcrumb(numbers[2 + 2 * i], numbers[3 + 2 * i], utf8(texts[first + 2 * i]),
                    utf8(texts[first + 2 * i + 1])));
        }
        return breadcrumbs;
    }

    /** UTF-8 as SharedContext encodes it: U+0000 is C0 80. */
    static String utf8(byte[] bytes) {
        int n = 0;
        byte[] plain = bytes;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == (byte) 0xC0 && i + 1 < bytes.length && bytes[i + 1] == (byte) 0x80) {
                if (plain == bytes) {
                    plain = Arrays.copyOf(bytes, bytes.length);
                    n = i;
                }
                plain[n++] = 0;
                i++;
            } else if (plain != bytes) {
                plain[n++] = bytes[i];
            }
        }
        return plain == bytes ? new String(bytes, StandardCharsets.UTF_8) : new String(plain, 0, n, StandardCharsets.UTF_8);
    }
}
