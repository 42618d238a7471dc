// SPDX-License-Identifier: Apache-2.0
import io.github.crashagent.CrashAgent;
import io.github.crashagent.CrashEvent;
import io.github.crashagent.CrashListener;

/**
 * bench/startup.sh, variant b: the same line, after registering one listener. The listener is a
 * class, not a lambda, so the figure is the library's cost rather than the JDK's first lambda.
 */
public final class OneListener implements CrashListener {
    @Override
    public void onCrash(CrashEvent event) {
        System.err.println(event);
    }

    public static void main(String[] args) {
        CrashAgent.addListener(new OneListener());
        System.out.println("started");
    }
}
