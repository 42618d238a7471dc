// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.nio.file.Path;
import java.util.List;

/**
 * Typed access to a parsed report by JSON pointer; each method fails with an
 * {@link InvalidCrashReportException} naming the file and the field. {@link CrashReport} reads
 * through this rather than through Jackson's types so that it can be loaded, and can say that
 * Jackson is missing, without Jackson on the class path.
 */
interface ReportFields {
    /** The file the report was read from, absolute. */
    Path file();

    InvalidCrashReportException invalid(String pointer, String problem);

    /** True when the field is absent; null is present. */
    boolean isMissing(String pointer);

    boolean isNull(String pointer) throws InvalidCrashReportException;

    String text(String pointer) throws InvalidCrashReportException;

    String textOrNull(String pointer) throws InvalidCrashReportException;

    /** A path, or null for null or an empty string. */
    Path pathOrNull(String pointer) throws InvalidCrashReportException;

    Boolean boolOrNull(String pointer) throws InvalidCrashReportException;

    /** A non-negative integer up to 2^64-1, as the agent writes it (unsigned 64 bit). */
    long integer(String pointer) throws InvalidCrashReportException;

    /** A non-negative integer or null; a missing field counts as null (reports of older agents lack it). */
    Long integerOrNull(String pointer) throws InvalidCrashReportException;

    int int32(String pointer) throws InvalidCrashReportException;

    /** A signed 64-bit integer. */
    long int64(String pointer) throws InvalidCrashReportException;

    /** A hex string like {@code "0x7f3a"}, up to 64 bits. */
    long hex(String pointer) throws InvalidCrashReportException;

    Long hexOrNull(String pointer) throws InvalidCrashReportException;

    /** Checks that the field is an array and returns its length. */
    int arraySize(String pointer) throws InvalidCrashReportException;

    /** Checks that the field is an object. */
    void object(String pointer) throws InvalidCrashReportException;

    /** Checks that the field is an object and returns its field names in order. */
    List<String> fieldNames(String pointer) throws InvalidCrashReportException;
}
