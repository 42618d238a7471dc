// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.testapp;

/** Native faults from cpp/test/jni/crashtest.cpp. */
public final class CrashNative {
    static {
        System.load(System.getProperty("crashagent.testLibrary"));
    }

    private CrashNative() {}

    public static native void nullWrite();

    /** Returns unless crash is true, then writes through null. */
    public static native void nullWriteWhen(boolean crash);

    /** Watches for the compiled code (a native method's wrapper too) of methods with this name. */
    public static native boolean watchCompiledMethod(String name);

    /** Waits until the JVM posted the watched method's CompiledMethodLoad, to every agent. */
    public static native boolean awaitCompiledMethod(long timeoutMillis);

    /** A direct buffer over 4 KiB of memory that is not mapped: reading it faults. */
    public static native java.nio.ByteBuffer bufferOverUnmappedMemory();

    public static native void abortNow();

    /** Passes a class where JNI wants a string: a fatal error of the JVM under -Xcheck:jni. */
    public static native int badJniCall();

    public static native void crashOnOwnThread();

    public static native int add(int a, int b);

    /** Returns x + 1. */
    public static native int callA(int x);

    /** Returns a * 10 + b + (c ? 1 : 0). */
    public static native long callB(long a, int b, boolean c);

    /** Returns a + b*10 + c*100 + d*1e3 + e*1e4 + f*1e5 + g*1e6 + h*1e7 + i*1e8 + j*1e9. */
    public static native double mix(int a, double b, long c, float d, int e, int f, int g, double h, short i, byte j);

    /** Counts the call in enteredCount(), then writes through null. */
    public static native void nullWriteCounted();

    public static native int enteredCount();

    /** Native recursion until the thread's stack runs out. */
    public static native int recurseForever();
}
