package io.github.crashagent;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Entry point of the crashagent Java API.
 *
 * <p>The native agent is loaded with {@code -agentpath:}. Without it, {@link #isActive()} is false,
 * listeners are accepted and never called, and nothing here throws.
 */
public final class CrashAgent {
    private static final List<CrashListener> LISTENERS = new CopyOnWriteArrayList<>();
    private static final boolean ACTIVE = connect();

    private CrashAgent() {}

    /** True when the native agent is loaded in this JVM and will report crashes. */
    public static boolean isActive() {
        return ACTIVE;
    }

    /** Registers a listener to run when the process crashes in native code. */
    public static void addListener(CrashListener listener) {
        if (listener == null) {
            throw new NullPointerException("listener");
        }
        LISTENERS.add(listener);
    }

    public static void removeListener(CrashListener listener) {
        LISTENERS.remove(listener);
    }

    /** Folder the agent writes reports into, or empty when the agent is not loaded. */
    public static Optional<Path> reportDirectory() {
        if (!ACTIVE) {
            return Optional.empty();
        }
        return Optional.of(Path.of(nativeReportDirectory()));
    }

    private static boolean connect() {
        try {
            return nativeConnect();
        } catch (UnsatisfiedLinkError notLoaded) {
            return false;
        }
    }

    /**
     * Called by the agent's dispatcher thread, once, after a crash. Runs every listener and hands
     * each outcome to the agent as soon as it is known, so that a listener that hangs still leaves
     * the outcomes of the ones before it in the report.
     */
    @SuppressWarnings("unused")
    private static void dispatch(String[] text, long[] numbers, String[] frameClasses,
                                 String[] frameMethods, String[] frameFiles, int[] frameLines,
                                 String[] nativeFrames) {
        CrashEvent event = NativeEventDecoder.decode(text, numbers, frameClasses, frameMethods,
                frameFiles, frameLines, nativeFrames);
        List<CrashListener> snapshot = new ArrayList<>(LISTENERS);
        for (int i = 0; i < snapshot.size(); i++) {
            CrashListener listener = snapshot.get(i);
            String name = listener.getClass().getName();
            nativeListenerOutcome(i, name, "running");
            String outcome;
            try {
                listener.onCrash(event);
                outcome = "ok";
            } catch (Throwable t) {
                outcome = "threw " + t;
            }
            nativeListenerOutcome(i, name, outcome);
        }
    }

    private static native boolean nativeConnect();

    private static native String nativeReportDirectory();

    private static native void nativeListenerOutcome(int index, String listener, String outcome);
}
