// SPDX-License-Identifier: Apache-2.0
/** bench/startup.sh, variant a: a JVM that prints one line and exits. */
public final class OneLine {
    public static void main(String[] args) {
        System.out.println("started");
    }
}
