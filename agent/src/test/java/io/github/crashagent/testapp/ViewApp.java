// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

import io.github.crashagent.CrashAgent;
import java.nio.file.Path;

/** Registers a {@link ViewListener} writing to args[0], then crashes in JNI on the main thread. */
public final class ViewApp {
    private ViewApp() {}

    public static void main(String[] args) {
        CrashAgent.addListener(new ViewListener(Path.of(args[0])));
        CrashNative.nullWrite();
    }
}
