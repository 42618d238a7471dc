// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

/** The crash zoo's native faults, from cpp/test/jni/crashzoo.cpp (loaded with CrashNative). */
public final class Zoo {
    static {
        System.load(System.getProperty("crashagent.testLibrary"));
    }

    private Zoo() {}

    public static native int nullRead();

    public static native void wildPointer();

    public static native void writeReadOnly();

    public static native void executeData();

    public static native void illegalInstruction();

    public static native int divideByZero();

    public static native void doubleFree();

    public static native void uncaughtCppException();

    public static native int busError();

    /** aarch64: an exclusive load from a misaligned address, SIGBUS (BUS_ADRALN); elsewhere returns -1. */
    public static native long misalignedExclusive();

    public static native void memcpyToNull();

    public static native void crashOnAttachedThread();

    public static native void callJava(Runnable runnable);

    public static native void startMallocHammer();

    /** Faults `probes` times under the library's own SIGSEGV handler; returns how many it recovered. */
    public static native int probeWithOwnHandler(int probes);
}
