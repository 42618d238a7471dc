// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2.testapp;

import io.github.crashagent.testapp.CrashNative;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.MarkerManager;

/** Logs at several levels and with a marker through log4j2-breadcrumbs-test.xml, then crashes in JNI. */
public final class LogBreadcrumbsThenCrash {
    private LogBreadcrumbsThenCrash() {}

    public static void main(String[] args) {
        Logger log = LogManager.getLogger("app");
        log.info("plain info, not a breadcrumb");
        log.warn("disk {} almost full", "/data");
        log.info(MarkerManager.getMarker("BREADCRUMB"), "opened {}", "input.bin");
        log.debug(MarkerManager.getMarker("OTHER"), "below the root level");
        log.error("decoder failed, retrying");
        CrashNative.nullWrite();
    }
}
