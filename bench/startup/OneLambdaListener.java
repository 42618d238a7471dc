// SPDX-License-Identifier: Apache-2.0
import io.github.crashagent.CrashAgent;

/**
 * bench/startup.sh, for reference: variant b with a lambda listener, as most applications write
 * it. The difference to OneListener is the JDK bootstrapping its first lambda, which an
 * application that uses any lambda pays anyway.
 */
public final class OneLambdaListener {
    public static void main(String[] args) {
        CrashAgent.addListener(event -> System.err.println(event));
        System.out.println("started");
    }
}
