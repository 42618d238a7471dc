// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples;

/**
 * The plain JNI sample library (samples/native/faults.cpp): each method fails in native code the
 * way real JNI libraries do. It is loaded from the path in the system property
 * {@code crashagent.demoLibrary}.
 */
public final class NativeFaults {
    static {
        String library = System.getProperty("crashagent.demoLibrary");
        if (library == null) {
            throw new IllegalStateException("set -Dcrashagent.demoLibrary=/path/to/libcrashdemo.so"
                    + " (built into agent/target/native-samples/linux-x86_64/)");
        }
        System.load(library);
    }

    private NativeFaults() {}

    /** Stores through a null pointer: SIGSEGV. */
    public static native void nullWrite();

    /** Calls abort(): SIGABRT, and HotSpot writes no hs_err. */
    public static native void abortNow();

    /** Integer division by zero: SIGFPE. */
    public static native int divideByZero();

    /** A failed invariant check that traps: SIGILL. */
    public static native void illegalInstruction();

    /** Calls a dangling function pointer: SIGSEGV with the PC outside any module. */
    public static native void badCall();

    /** Frees a buffer twice; glibc aborts: SIGABRT. */
    public static native void doubleFree();

    /** Throws a C++ exception nobody catches; std::terminate aborts: SIGABRT. */
    public static native void uncaughtCppException();

    /** Crashes on a thread the library creates, which the JVM does not know: SIGSEGV. */
    public static native void crashOnOwnThread();
}
