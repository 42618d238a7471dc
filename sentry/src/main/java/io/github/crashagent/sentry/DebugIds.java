// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.sentry;

import java.util.Locale;

/**
 * Sentry's {@code debug_id} of an ELF module, derived from its GNU build-id.
 *
 * <p>The rule is Sentry's, from its symbolication code and SDKs: sentry-rust,
 * {@code sentry-debug-images/src/unix.rs}, {@code debug_id_from_build_id} ("The identifier data is
 * first truncated or extended to match 16 byte size of Uuids. If the data is declared in little
 * endian, the first three Uuid fields are flipped"; the appendix is always 0 for ELF), the same
 * computation as {@code compute_debug_id} in Mozilla's dump_syms and Sentry's symbolic
 * ({@code symbolic-debuginfo}, ELF objects), which is what Sentry matches uploaded debug files
 * against; see also docs.sentry.io, "Debug Identifiers" of native debug information files. So:
 * take the first 16 bytes of the build-id (zero-padded when shorter), reverse the byte order of
 * the first three GUID fields (4, 2 and 2 bytes; x86-64 ELF is little endian) and print it as a
 * lowercase UUID. The build-id itself goes into {@code code_id} unchanged. Relay's event schema
 * documentation shows the pair ({@code relay_event_schema::protocol::NativeDebugImage},
 * getsentry.github.io/relay): code_id {@code 68220ae2c65d65c1b6aaa12fa6765a6ec2f5f434}, debug_id
 * {@code e20a2268-5dc6-c165-b6aa-a12fa6765a6e}; the tests check that example.
 */
final class DebugIds {
    private DebugIds() {}

    /** The debug_id for a build-id in lowercase hex, or null for null or a string that is not hex. */
    static String fromBuildId(String buildId) {
        if (buildId == null || buildId.isEmpty() || buildId.length() % 2 != 0
                || !buildId.matches("[0-9a-fA-F]+")) {
            return null;
        }
        byte[] d = new byte[16];
        int n = Math.min(16, buildId.length() / 2);
        for (int i = 0; i < n; i++) {
            d[i] = (byte) Integer.parseInt(buildId.substring(2 * i, 2 * i + 2), 16);
        }
        reverse(d, 0, 4);
        reverse(d, 4, 6);
        reverse(d, 6, 8);
        StringBuilder s = new StringBuilder(36);
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                s.append('-');
            }
            s.append(String.format(Locale.ROOT, "%02x", d[i] & 0xff));
        }
        return s.toString();
    }

    /**
     * Sentry's {@code debug_id} of a PE image from the report's symbol-server key
     * ({@code <GUID, 32 uppercase hex digits><age, uppercase hex>}, as {@code CrashReport.Module.debugId()}
     * has it): the GUID in its usual hyphenated form, lowercase, and, when the age is not 0, a dash
     * and the age in lowercase hex. That is how Sentry writes PE debug ids (the text form of its
     * {@code debugid} crate; Relay's {@code NativeDebugImage} example: debug_id
     * {@code 9c2a902b-6fdf-40ad-8308-588a41d572a0-1} with debug_file {@code dbghelp.pdb}). The GUID
     * text of the key is already in GUID field order, so no bytes are swapped here. Null for null
     * or a key of another shape.
     */
    static String fromPdbKey(String key) {
        if (key == null || !key.matches("[0-9A-Fa-f]{33,40}")) {
            return null;
        }
        String g = key.substring(0, 32).toLowerCase(Locale.ROOT);
        long age = Long.parseLong(key.substring(32), 16);
        return g.substring(0, 8) + "-" + g.substring(8, 12) + "-" + g.substring(12, 16) + "-"
                + g.substring(16, 20) + "-" + g.substring(20) + (age == 0 ? "" : "-" + Long.toHexString(age));
    }

    private static void reverse(byte[] b, int from, int to) {
        for (int i = from, j = to - 1; i < j; i++, j--) {
            byte t = b[i];
            b[i] = b[j];
            b[j] = t;
        }
    }
}
