// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file is not a crash report this version can read: it is empty, truncated, too large, not
 * JSON, not a crashagent report, written by a newer agent, or has a field of the wrong type; or it
 * is not a file to read at all: a symbolic link, not a regular file, replaced while it was being
 * read, or not readable within the time limit. The message names the file and what is wrong with
 * it, and quotes none of the content of a file that is not a report.
 */
public class InvalidCrashReportException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public InvalidCrashReportException(Path file, String problem) {
        this(file, problem, null);
    }

    public InvalidCrashReportException(Path file, String problem, Throwable cause) {
        super("crash report " + file + ": " + problem, cause);
        this.file = file;
    }

    /** The file that could not be read as a report. */
    public Path file() {
        return file;
    }
}
