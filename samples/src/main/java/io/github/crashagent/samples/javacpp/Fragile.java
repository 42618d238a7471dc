// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.samples.javacpp;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of the small C++ library in src/main/cpp/fragile.h. The JavaCPP Maven plugin
 * generates the JNI code and builds it into {@code libjniFragile.so} next to this class.
 */
@Platform(include = "fragile.h")
@Namespace("fragile")
public final class Fragile {
    static {
        Loader.load();
    }

    private Fragile() {}

    /** fragile::Registry. */
    public static final class Registry extends Pointer {
        static {
            Loader.load();
        }

        public Registry() {
            allocate();
        }

        private native void allocate();

        /** Number of records. */
        public native int count();

        /** Length of the record's name; does not check the index, so on an empty registry it crashes. */
        public native int nameLength(int index);
    }
}
