// SPDX-License-Identifier: Apache-2.0
// What an aarch64 signal frame says about a fault beyond si_addr: the exception syndrome (ESR)
// the kernel saves in an esr_context record among the tagged records of uc_mcontext.__reserved
// (asm/sigcontext.h). Plain code over bytes, so that it is tested on any host
// (cpp/test/core/aarch64_fault_tests.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace crashagent {
namespace posix {

constexpr uint32_t kAarch64EsrMagic = 0x45535201;  // ESR_MAGIC

// Crash context. The ESR from the records in area (size bytes), or 0 when there is none: a
// signal that was sent, or an emulator such as qemu-user that does not write the record. Each
// record is {u32 magic, u32 size, payload}; the walk stops at the terminator (magic 0), at a size
// too small to advance or running past the area, and never reads outside it.
inline uint64_t esr_from_signal_records(const unsigned char* area, size_t size) {
    struct RecordHead {
        uint32_t magic;
        uint32_t size;
    };
    size_t offset = 0;
    while (offset + sizeof(RecordHead) <= size) {
        RecordHead head;
        memcpy(&head, area + offset, sizeof(head));
        if (head.magic == 0 || head.size < sizeof(RecordHead) || head.size > size - offset) break;
        if (head.magic == kAarch64EsrMagic && head.size >= sizeof(RecordHead) + sizeof(uint64_t)) {
            uint64_t esr;
            memcpy(&esr, area + offset + sizeof(RecordHead), sizeof(esr));
            return esr;
        }
        offset += head.size;
    }
    return 0;
}

// Crash context. The access an ESR describes: an instruction abort is an execute; a data
// abort is a write or a read by ISS bit 6 (WnR). Null for any other exception class.
inline const char* esr_access(uint64_t esr) {
    uint64_t exception_class = (esr >> 26) & 0x3f;
    if (exception_class == 0x20 || exception_class == 0x21) return "execute";
    if (exception_class == 0x24 || exception_class == 0x25) return (esr & (1u << 6)) ? "write" : "read";
    return nullptr;
}

}  // namespace posix
}  // namespace crashagent
