// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.nio.file.Path;
import java.util.Arrays;

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
                             String[] nativeFrames) {
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
                report == null ? null : Path.of(report), numbers[TIMESTAMP]);
    }
}
