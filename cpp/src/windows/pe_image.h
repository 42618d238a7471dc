// SPDX-License-Identifier: Apache-2.0
// Reading PE32+ images in memory: headers, data directories, exports, the load configuration's
// security cookie, the CodeView (RSDS) record, and what identifies an image. Everything here runs
// in crash context: no heap, no CRT I/O, no locks of our own. Every read is bounded by the image
// (its SizeOfImage and, for a loaded image, its own allocation) and checked readable before it is
// made, so a truncated, hostile or half-unloaded image gives "not found" instead of a fault.
#pragma once

#include <windows.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace crashagent {
namespace platform {
namespace win {

// Crash context. Copies memory that may be unmapped or freed meanwhile; fails instead of faulting.
// ReadProcessMemory: under Wine a wineserver round trip, so for memory known to be there a checked
// in-place read (PeImage) is cheaper.
bool safe_read(uint64_t address, void* out, size_t size);

// Crash context. True if [address, address + size) is committed, readable memory of a loaded image.
bool image_readable(uint64_t address, size_t size);

// Crash context. The image base of the loaded module that contains address, or 0.
uint64_t image_base_of(uint64_t address);

// What tells one image from another loaded later at the same base.
struct ImageIdentity {
    uint32_t time_stamp;
    uint32_t image_size;
};

// Crash context.
inline bool same_image(const ImageIdentity& a, const ImageIdentity& b) {
    return a.time_stamp == b.time_stamp && a.image_size == b.image_size;
}

// A PE32+ image laid out as the loader maps it (section data at its RVA). Small and copyable:
// it keeps the header fields it needs, no pointers into the image.
class PeImage {
public:
    // Crash context. The loaded image at base. Reads stay inside its SizeOfImage and inside the
    // allocation that starts at base, and only touch committed image memory (MEM_IMAGE).
    static PeImage loaded(uint64_t base);

    // Crash context. An image in [data, data + size) of memory the caller knows is readable (a
    // copy, a test's buffer). Nothing outside that range is read.
    static PeImage in_memory(const void* data, size_t size);

    // DOS and NT headers found, PE32+.
    bool valid() const { return valid_; }
    uint64_t base() const { return base_; }
    ImageIdentity identity() const { return ImageIdentity{time_stamp_, image_size_}; }

    // Crash context. True if the size bytes at rva are inside the image and readable.
    bool can_read(uint64_t rva, size_t size) const;

    // Crash context. Copies size bytes at rva; false if any of them is outside the image or unreadable.
    bool read(uint64_t rva, void* out, size_t size) const;

    // Crash context. The NUL-terminated string at rva, copied into out (truncated to capacity).
    // False if no NUL ends it inside the image, or it is unreadable.
    bool read_string(uint64_t rva, char* out, size_t capacity) const;

    // Crash context. Data directory `index` (IMAGE_DIRECTORY_ENTRY_*): false if the header has no
    // such entry, or it is empty or not wholly inside the image.
    bool directory(unsigned index, uint32_t* rva, uint32_t* size) const;

private:
    bool load_headers();

    uint64_t base_ = 0;
    uint64_t limit_ = 0;        // bytes from base_ that may be read
    bool loaded_ = false;       // a loaded image: readability is asked of VirtualQuery
    bool valid_ = false;
    uint32_t time_stamp_ = 0;
    uint32_t image_size_ = 0;
    uint32_t directory_count_ = 0;
    IMAGE_DATA_DIRECTORY directories_[IMAGE_NUMBEROF_DIRECTORY_ENTRIES] = {};
    // The last region VirtualQuery found readable, [readable_low_, readable_high_): headers and
    // export tables usually sit in one region, so most reads cost no query.
    mutable uint64_t readable_low_ = 0;
    mutable uint64_t readable_high_ = 0;
};

// Crash context. Calls visit(function_rva, name_rva) for each named export, in name order, until
// it returns false. Forwarders (function RVAs inside the export directory) are left out. Returns
// false if the image has no export table, or one that does not fit inside the image.
template <typename Visit>
bool for_each_named_export(const PeImage& image, Visit visit);

// Crash context. The name of an export at exactly rva. False if none.
bool pe_export_at(const PeImage& image, uint64_t rva, char* name, size_t capacity);

// Crash context. The export closest at or below rva, and rva's offset from it. False if none.
bool pe_nearest_export(const PeImage& image, uint64_t rva, char* name, size_t capacity, uint64_t* offset);

// Crash context. The RVA of the /GS security cookie the load configuration names
// (SecurityCookie), or false when it has none inside the image.
bool pe_security_cookie_rva(const PeImage& image, uint64_t* rva);

// The identities symbol servers key a PE image by.
struct PeModuleIdentity {
    char code_id[24];     // <TimeDateStamp %08X><SizeOfImage %x>; empty if the headers are unreadable
    char debug_id[48];    // <GUID %08X%04X%04X + 8 x %02X><age %X>; empty without a CodeView record
    char pdb_name[260];   // the CodeView record's PDB path; empty without one
};

// Crash context. Fills identity from the headers and the first well-formed CodeView (RSDS) record
// of the debug directory. A record cut short or a PDB name without its NUL counts as none. False
// if the image itself is not valid (then everything is empty).
bool pe_module_identity(const PeImage& image, PeModuleIdentity* identity);

// Something remembered about an address (a module base, a handler routine) while the module there
// stays the same image: an entry counts only while the image at its base has the identity it had
// when the entry was made, so a module loaded at the same base after an unload is looked at
// afresh. Lock-free: a slot is claimed with a compare-exchange on its key and published by
// `ready`. When every slot is taken, nothing more is remembered. Crash context throughout.
template <typename Value, int kSlots>
class ImageCache {
public:
    // Crash context. The value remembered for key, if it was remembered for this image at base.
    bool find(uint64_t key, uint64_t base, const ImageIdentity& identity, Value* out) const {
        for (const auto& slot : slots_) {
            if (slot.key.load(std::memory_order_acquire) != key || !slot.ready.load(std::memory_order_acquire)) continue;
            if (slot.base == base && same_image(slot.identity, identity)) {
                *out = slot.value;
                return true;
            }
        }
        return false;
    }

    // Crash context. key 0 is never remembered (it marks a free slot).
    void remember(uint64_t key, uint64_t base, const ImageIdentity& identity, Value value) {
        if (key == 0) return;
        for (auto& slot : slots_) {
            uint64_t expected = 0;
            if (!slot.key.compare_exchange_strong(expected, key, std::memory_order_acq_rel)) continue;
            slot.base = base;
            slot.identity = identity;
            slot.value = value;
            slot.ready.store(1, std::memory_order_release);
            return;
        }
    }

private:
    struct Slot {
        std::atomic<uint64_t> key;
        std::atomic<int> ready;
        uint64_t base;
        ImageIdentity identity;
        Value value;
    };
    Slot slots_[kSlots] = {};
};

// --- Template definitions ---------------------------------------------------------------------

namespace pe_detail {
constexpr uint32_t kMaxExports = 65536;  // bounds a hostile NumberOfNames / NumberOfFunctions
}

template <typename Visit>
bool for_each_named_export(const PeImage& image, Visit visit) {
    uint32_t dir_rva = 0;
    uint32_t dir_size = 0;
    if (!image.directory(IMAGE_DIRECTORY_ENTRY_EXPORT, &dir_rva, &dir_size) || dir_size < sizeof(IMAGE_EXPORT_DIRECTORY)) {
        return false;
    }
    IMAGE_EXPORT_DIRECTORY exports;
    if (!image.read(dir_rva, &exports, sizeof(exports))) return false;
    uint32_t names_count = exports.NumberOfNames;
    uint32_t functions_count = exports.NumberOfFunctions;
    if (names_count > pe_detail::kMaxExports || functions_count > pe_detail::kMaxExports) return false;
    // The name and ordinal tables must fit whole: a table cut short is no table.
    if (!image.can_read(exports.AddressOfNames, 4ull * names_count) ||
        !image.can_read(exports.AddressOfNameOrdinals, 2ull * names_count)) {
        return false;
    }
    for (uint32_t i = 0; i < names_count; i++) {
        uint32_t name_rva = 0;
        uint16_t ordinal = 0;
        uint32_t function_rva = 0;
        if (!image.read(exports.AddressOfNames + 4ull * i, &name_rva, 4) ||
            !image.read(exports.AddressOfNameOrdinals + 2ull * i, &ordinal, 2)) {
            return false;
        }
        if (ordinal >= functions_count || !image.read(exports.AddressOfFunctions + 4ull * ordinal, &function_rva, 4)) {
            continue;
        }
        if (function_rva == 0 || (function_rva >= dir_rva && function_rva < dir_rva + static_cast<uint64_t>(dir_size))) {
            continue;  // no function, or a forwarder ("dll.name")
        }
        if (!visit(function_rva, name_rva)) break;
    }
    return true;
}

}  // namespace win
}  // namespace platform
}  // namespace crashagent
