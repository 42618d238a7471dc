// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes the context map and the breadcrumb ring into the memory the agent shares with Java
 * (cpp/src/core/app_context.h has the layout; the sizes are read from its header).
 *
 * <p>Each entry has a sequence word: a writer moves it from even to odd with a compare-and-set,
 * writes the fields, and stores the next even value with release semantics. The agent's crash
 * path copies an entry only when the word was even and unchanged across the copy, so an entry a
 * writer was interrupted in is left out of the report, never shown half written. A writer that
 * finds another one inside the same entry gives up: for a context key the other value wins (the
 * two calls overlapped, so either order is right); for a breadcrumb it means the ring went round
 * while a writer stalled, and the older one is lost.
 *
 * <p>Steady state allocates nothing: strings are encoded to UTF-8 straight into the buffer, and
 * a key's slot index is a cached {@link Integer}.
 */
final class SharedContext {
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private static final boolean BIG_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;
    private static final int MAGIC = 0x31434143;
    private static final int LAYOUT_VERSION = 1;
    // Header offsets.
    private static final int H_VERSION = 4, H_SLOTS = 8, H_SLOT_SIZE = 12, H_KEY_CAPACITY = 16,
            H_VALUE_CAPACITY = 20, H_BREADCRUMBS = 24, H_BREADCRUMB_SIZE = 28, H_MESSAGE_CAPACITY = 32,
            H_NAME_CAPACITY = 36, H_HEAD = 40, H_CLAIMED = 48, H_REFUSED = 52, H_CONTEXT_OFFSET = 56,
            H_BREADCRUMB_OFFSET = 60;
    // Context slot offsets.
    private static final int S_KEY_LENGTH = 4, S_VALUE_LENGTH = 6, S_STATE = 8, S_KEY = 16;
    private static final int STATE_SET = 1, STATE_REMOVED = 2;
    // Breadcrumb offsets.
    private static final int B_MESSAGE_LENGTH = 4, B_ORDINAL = 8, B_TIME = 16,
            B_THREAD = 24, B_NAME = 32;

    private final ByteBuffer buffer;
    private final int slots, slotSize, keyCapacity, valueCapacity, contextOffset;
    private final int breadcrumbs, breadcrumbSize, messageCapacity, nameCapacity, breadcrumbOffset;
    private final long breadcrumbMask;
    private final ConcurrentHashMap<String, Integer> slotOfKey = new ConcurrentHashMap<>();

    private SharedContext(ByteBuffer buffer) {
        this.buffer = buffer;
        slots = buffer.getInt(H_SLOTS);
        slotSize = buffer.getInt(H_SLOT_SIZE);
        keyCapacity = buffer.getInt(H_KEY_CAPACITY);
        valueCapacity = buffer.getInt(H_VALUE_CAPACITY);
        contextOffset = buffer.getInt(H_CONTEXT_OFFSET);
        breadcrumbs = buffer.getInt(H_BREADCRUMBS);
        breadcrumbSize = buffer.getInt(H_BREADCRUMB_SIZE);
        messageCapacity = buffer.getInt(H_MESSAGE_CAPACITY);
        nameCapacity = buffer.getInt(H_NAME_CAPACITY);
        breadcrumbOffset = buffer.getInt(H_BREADCRUMB_OFFSET);
        breadcrumbMask = breadcrumbs - 1L;
    }

    /** The writer over the agent's memory, or null for memory of a layout this class does not know. */
    static SharedContext over(ByteBuffer memory) {
        if (memory == null || !memory.isDirect()) {
            return null;
        }
        ByteBuffer b = memory.order(ByteOrder.nativeOrder());
        if (b.capacity() < 64 || b.getInt(0) != MAGIC || b.getInt(H_VERSION) != LAYOUT_VERSION
                || Integer.bitCount(b.getInt(H_BREADCRUMBS)) > 1) {
            return null;  // the ring's entries are a power of two (or none)
        }
        return new SharedContext(b);
    }

    void put(String key, String value) {
        Integer slot = slotOfKey.get(key);
        if (slot == null) {
            slot = claimSlot(key);
            if (slot == null) {
                return;
            }
        }
        int base = contextOffset + slot * slotSize;
        int sequence = (int) INT.getAcquire(buffer, base);
        if ((sequence & 1) != 0 || !INT.compareAndSet(buffer, base, sequence, sequence + 1)) {
            return;  // another put of this key is inside the slot; it wins
        }
        int keyLength = encode(key, base + S_KEY, keyCapacity);
        int valueLength = encode(value, base + S_KEY + keyCapacity, valueCapacity);
        buffer.putShort(base + S_KEY_LENGTH, (short) keyLength);
        buffer.putShort(base + S_VALUE_LENGTH, (short) valueLength);
        buffer.putInt(base + S_STATE, STATE_SET);
        INT.setRelease(buffer, base, sequence + 2);
    }

    void remove(String key) {
        Integer slot = slotOfKey.get(key);
        if (slot == null) {
            return;
        }
        int base = contextOffset + slot * slotSize;
        int sequence = (int) INT.getAcquire(buffer, base);
        if ((sequence & 1) != 0 || !INT.compareAndSet(buffer, base, sequence, sequence + 1)) {
            return;
        }
        buffer.putInt(base + S_STATE, STATE_REMOVED);
        INT.setRelease(buffer, base, sequence + 2);
    }

    /** A key's slot for good: a process has at most {@code slots} distinct keys; past that, null. */
    private Integer claimSlot(String key) {
        synchronized (slotOfKey) {
            Integer slot = slotOfKey.get(key);
            if (slot != null) {
                return slot;
            }
            // Through the shared header, so that API classes of two class loaders never share a slot.
            int claimed = (int) INT.getAndAdd(buffer, H_CLAIMED, 1);
            if (claimed >= slots) {
                INT.getAndAdd(buffer, H_CLAIMED, -1);
                INT.getAndAdd(buffer, H_REFUSED, 1);
                return null;
            }
            slot = claimed;
            slotOfKey.put(key, slot);
            return slot;
        }
    }

    void breadcrumb(String message) {
        if (breadcrumbs == 0) {
            return;
        }
        long ordinal = (long) LONG.getAndAdd(buffer, H_HEAD, 1L);
        int base = breadcrumbOffset + (int) (ordinal & breadcrumbMask) * breadcrumbSize;
        int sequence = (int) INT.getAcquire(buffer, base);
        if ((sequence & 1) != 0 || !INT.compareAndSet(buffer, base, sequence, sequence + 1)) {
            return;  // a writer a whole ring older is still inside this entry
        }
        Thread thread = Thread.currentThread();
        buffer.putLong(base + B_ORDINAL, ordinal);
        buffer.putLong(base + B_TIME, System.currentTimeMillis());
        buffer.putLong(base + B_THREAD, thread.getId());
        int nameLength = encode(thread.getName(), base + B_NAME, nameCapacity);
        int messageLength = encode(message, base + B_NAME + nameCapacity, messageCapacity);
        // The message length (u16 at 4) and the name length (u16 at 6) in one store.
        buffer.putInt(base + B_MESSAGE_LENGTH, BIG_ENDIAN ? messageLength << 16 | nameLength : nameLength << 16 | messageLength);
        INT.setRelease(buffer, base, sequence + 2);
    }

    /**
     * Writes s as UTF-8 at offset, cut at a character boundary to capacity bytes; returns the
     * bytes written. U+0000 becomes C0 80 (as in JNI), so the agent's C strings hold all of it; an
     * unpaired surrogate becomes '?'.
     */
    private int encode(String s, int offset, int capacity) {
        ByteBuffer b = buffer;
        int length = s.length();
        int n = 0;
        int i = 0;
        // ASCII, the usual case, eight characters to a store: each store to the buffer is checked,
        // so one per byte would cost more than the rest of the call.
        while (i + 8 <= length && n + 8 <= capacity) {
            long word = 0;
            int k = 0;
            for (; k < 8; k++) {
                char c = s.charAt(i + k);
                if (c >= 0x80 || c == 0) {
                    break;
                }
                word |= (long) c << (8 * k);
            }
            if (k < 8) {
                break;
            }
            b.putLong(offset + n, BIG_ENDIAN ? Long.reverseBytes(word) : word);
            i += 8;
            n += 8;
        }
        for (; i < length; i++) {
            char c = s.charAt(i);
            if (c < 0x80 && c != 0) {
                if (n + 1 > capacity) {
                    break;
                }
                b.put(offset + n++, (byte) c);
            } else if (c < 0x800) {
                if (n + 2 > capacity) {
                    break;
                }
                b.put(offset + n++, (byte) (0xC0 | (c >> 6)));
                b.put(offset + n++, (byte) (0x80 | (c & 0x3F)));
            } else if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(s.charAt(i + 1))) {
                    if (n + 4 > capacity) {
                        break;
                    }
                    int cp = Character.toCodePoint(c, s.charAt(++i));
                    b.put(offset + n++, (byte) (0xF0 | (cp >> 18)));
                    b.put(offset + n++, (byte) (0x80 | ((cp >> 12) & 0x3F)));
                    b.put(offset + n++, (byte) (0x80 | ((cp >> 6) & 0x3F)));
                    b.put(offset + n++, (byte) (0x80 | (cp & 0x3F)));
                } else {
                    if (n + 1 > capacity) {
                        break;
                    }
                    b.put(offset + n++, (byte) '?');
                }
            } else {
                if (n + 3 > capacity) {
                    break;
                }
                b.put(offset + n++, (byte) (0xE0 | (c >> 12)));
                b.put(offset + n++, (byte) (0x80 | ((c >> 6) & 0x3F)));
                b.put(offset + n++, (byte) (0x80 | (c & 0x3F)));
            }
        }
        return n;
    }
}
