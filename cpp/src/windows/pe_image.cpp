// SPDX-License-Identifier: Apache-2.0
// PE32+ images in memory, read with every range checked. Crash context throughout.
#include "windows/pe_image.h"

#include "core/writer.h"

namespace crashagent {
namespace platform {
namespace win {

namespace {

constexpr uint32_t kMaxDebugEntries = 32;
constexpr uint32_t kMaxCodeViewSize = 4096;
constexpr uint32_t kRsdsHeaderSize = 24;  // "RSDS", GUID (16), age (4); the PDB name follows
constexpr size_t kMaxExportName = 4096;   // a longer name is cut when copied, never read past its NUL

// rva + size, or false if that wraps or passes limit.
bool within(uint64_t rva, uint64_t size, uint64_t limit) {
    return rva <= limit && size <= limit - rva;
}

}  // namespace

bool safe_read(uint64_t address, void* out, size_t size) {
    SIZE_T got = 0;
    return ReadProcessMemory(GetCurrentProcess(), reinterpret_cast<const void*>(address), out, size, &got) &&
           got == size;
}

bool image_readable(uint64_t address, size_t size) {
    while (size > 0) {
        MEMORY_BASIC_INFORMATION info;
        if (VirtualQuery(reinterpret_cast<const void*>(address), &info, sizeof(info)) == 0) return false;
        if (info.State != MEM_COMMIT || info.Type != MEM_IMAGE || (info.Protect & (PAGE_NOACCESS | PAGE_GUARD))) {
            return false;
        }
        uint64_t end = reinterpret_cast<uint64_t>(info.BaseAddress) + info.RegionSize;
        if (end - address >= size) return true;
        size -= end - address;
        address = end;
    }
    return true;
}

uint64_t image_base_of(uint64_t address) {
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(reinterpret_cast<const void*>(address), &info, sizeof(info)) == 0 || info.Type != MEM_IMAGE) {
        return 0;
    }
    return reinterpret_cast<uint64_t>(info.AllocationBase);
}

PeImage PeImage::loaded(uint64_t base) {
    PeImage image;
    image.base_ = base;
    image.loaded_ = true;
    // Until the headers give SizeOfImage, the allocation check in can_read() bounds the reads.
    image.limit_ = UINT64_MAX - base;
    if (!image.load_headers()) image.limit_ = 0;
    return image;
}

PeImage PeImage::in_memory(const void* data, size_t size) {
    PeImage image;
    image.base_ = reinterpret_cast<uint64_t>(data);
    image.limit_ = size;
    if (!image.load_headers()) image.limit_ = 0;
    return image;
}

bool PeImage::can_read(uint64_t rva, size_t size) const {
    if (!within(rva, size, limit_)) return false;
    if (!loaded_ || size == 0) return true;
    uint64_t address = base_ + rva;
    uint64_t end = address + size;
    while (address < end) {
        if (address >= readable_low_ && address < readable_high_) {
            address = readable_high_;
            continue;
        }
        MEMORY_BASIC_INFORMATION info;
        if (VirtualQuery(reinterpret_cast<const void*>(address), &info, sizeof(info)) == 0) return false;
        // The image's own memory only: a hostile offset must not reach a neighbouring mapping.
        if (info.State != MEM_COMMIT || info.Type != MEM_IMAGE || reinterpret_cast<uint64_t>(info.AllocationBase) != base_ ||
            (info.Protect & (PAGE_NOACCESS | PAGE_GUARD))) {
            return false;
        }
        readable_low_ = reinterpret_cast<uint64_t>(info.BaseAddress);
        readable_high_ = readable_low_ + info.RegionSize;
        address = readable_high_;
    }
    return true;
}

bool PeImage::read(uint64_t rva, void* out, size_t size) const {
    if (!can_read(rva, size)) return false;
    __builtin_memcpy(out, reinterpret_cast<const void*>(base_ + rva), size);
    return true;
}

bool PeImage::read_string(uint64_t rva, char* out, size_t capacity) const {
    if (capacity == 0) return false;
    size_t n = 0;
    for (size_t i = 0; i < kMaxExportName; i++) {
        char c;
        if (!read(rva + i, &c, 1)) break;
        if (c == '\0') {
            out[n] = '\0';
            return true;
        }
        if (n + 1 < capacity) out[n++] = c;
    }
    out[0] = '\0';
    return false;
}

bool PeImage::directory(unsigned index, uint32_t* rva, uint32_t* size) const {
    if (!valid_ || index >= directory_count_) return false;
    const IMAGE_DATA_DIRECTORY& d = directories_[index];
    if (d.VirtualAddress == 0 || d.Size == 0 || !within(d.VirtualAddress, d.Size, limit_)) return false;
    *rva = d.VirtualAddress;
    *size = d.Size;
    return true;
}

// Reads and checks the DOS and NT headers; the image's extent becomes SizeOfImage.
bool PeImage::load_headers() {
    IMAGE_DOS_HEADER dos;
    if (!read(0, &dos, sizeof(dos)) || dos.e_magic != IMAGE_DOS_SIGNATURE) return false;
    if (dos.e_lfanew < 0) return false;
    auto nt_rva = static_cast<uint64_t>(dos.e_lfanew);
    // Signature, file header and the optional header's fixed part (up to NumberOfRvaAndSizes).
    constexpr size_t kFixed = offsetof(IMAGE_NT_HEADERS64, OptionalHeader) + offsetof(IMAGE_OPTIONAL_HEADER64, DataDirectory);
    uint8_t fixed[kFixed];
    if (!read(nt_rva, fixed, sizeof(fixed))) return false;
    IMAGE_NT_HEADERS64 nt = {};
    __builtin_memcpy(&nt, fixed, sizeof(fixed));
    if (nt.Signature != IMAGE_NT_SIGNATURE || nt.OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC) return false;
    uint64_t image_size = nt.OptionalHeader.SizeOfImage;
    if (nt_rva + kFixed > image_size) return false;
    if (image_size < limit_) limit_ = image_size;
    // Data directories beyond the 16 defined ones, or beyond the optional header, are not there.
    uint32_t count = nt.OptionalHeader.NumberOfRvaAndSizes;
    if (count > IMAGE_NUMBEROF_DIRECTORY_ENTRIES) count = IMAGE_NUMBEROF_DIRECTORY_ENTRIES;
    uint32_t optional_size = nt.FileHeader.SizeOfOptionalHeader;
    constexpr uint32_t kDirectoriesAt = offsetof(IMAGE_OPTIONAL_HEADER64, DataDirectory);
    uint32_t fit = optional_size > kDirectoriesAt ? (optional_size - kDirectoriesAt) / sizeof(IMAGE_DATA_DIRECTORY) : 0;
    if (count > fit) count = fit;
    if (count > 0 && !read(nt_rva + kFixed, directories_, count * sizeof(IMAGE_DATA_DIRECTORY))) return false;
    time_stamp_ = nt.FileHeader.TimeDateStamp;
    image_size_ = nt.OptionalHeader.SizeOfImage;
    directory_count_ = count;
    valid_ = true;
    return true;
}

bool pe_export_at(const PeImage& image, uint64_t rva, char* name, size_t capacity) {
    bool found = false;
    for_each_named_export(image, [&](uint32_t function_rva, uint32_t name_rva) {
        if (function_rva != rva) return true;
        found = image.read_string(name_rva, name, capacity);
        return !found;  // an alias with a readable name may follow
    });
    return found;
}

bool pe_nearest_export(const PeImage& image, uint64_t rva, char* name, size_t capacity, uint64_t* offset) {
    uint32_t best_rva = 0;
    uint32_t best_name = 0;
    bool have = false;
    for_each_named_export(image, [&](uint32_t function_rva, uint32_t name_rva) {
        if (function_rva <= rva && function_rva >= best_rva) {
            best_rva = function_rva;
            best_name = name_rva;
            have = true;
        }
        return true;
    });
    if (!have || !image.read_string(best_name, name, capacity)) return false;
    *offset = rva - best_rva;
    return true;
}

bool pe_security_cookie_rva(const PeImage& image, uint64_t* rva) {
    uint32_t dir_rva = 0;
    uint32_t dir_size = 0;
    constexpr uint32_t kCookieEnd = offsetof(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie) + 8;
    if (!image.directory(IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG, &dir_rva, &dir_size) || dir_size < kCookieEnd) return false;
    uint32_t config_size = 0;
    uint64_t cookie_va = 0;
    if (!image.read(dir_rva + offsetof(IMAGE_LOAD_CONFIG_DIRECTORY64, Size), &config_size, sizeof(config_size)) ||
        !image.read(dir_rva + offsetof(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie), &cookie_va, sizeof(cookie_va))) {
        return false;
    }
    // The cookie is a virtual address in the loaded image; 8 bytes of it must be inside.
    uint64_t value = 0;
    if (config_size < kCookieEnd || cookie_va < image.base() || !image.read(cookie_va - image.base(), &value, 8)) {
        return false;
    }
    *rva = cookie_va - image.base();
    return true;
}

bool pe_module_identity(const PeImage& image, PeModuleIdentity* id) {
    id->code_id[0] = id->debug_id[0] = id->pdb_name[0] = '\0';
    if (!image.valid()) return false;
    {
        StringSink sink{id->code_id, sizeof(id->code_id), 0};
        char buffer[24];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.hex_upper(image.identity().time_stamp, 8);
        w.hex(image.identity().image_size);
        w.flush();
    }
    uint32_t dir_rva = 0;
    uint32_t dir_size = 0;
    if (!image.directory(IMAGE_DIRECTORY_ENTRY_DEBUG, &dir_rva, &dir_size)) return true;
    uint32_t count = dir_size / sizeof(IMAGE_DEBUG_DIRECTORY);
    if (count > kMaxDebugEntries) return true;
    for (uint32_t i = 0; i < count; i++) {
        IMAGE_DEBUG_DIRECTORY d;
        if (!image.read(dir_rva + static_cast<uint64_t>(i) * sizeof(d), &d, sizeof(d))) return true;
        if (d.Type != IMAGE_DEBUG_TYPE_CODEVIEW || d.SizeOfData < kRsdsHeaderSize || d.SizeOfData > kMaxCodeViewSize ||
            !d.AddressOfRawData) {
            continue;
        }
        unsigned char record[kRsdsHeaderSize];
        if (!image.can_read(d.AddressOfRawData, d.SizeOfData) || !image.read(d.AddressOfRawData, record, sizeof(record)) || __builtin_memcmp(record, "RSDS", 4) != 0) continue;
        // The PDB name must end inside the record: without its NUL the record is cut short.
        char name[sizeof(id->pdb_name)];
        size_t name_length = 0;
        bool terminated = false;
        for (uint64_t at = d.AddressOfRawData + kRsdsHeaderSize; at < d.AddressOfRawData + static_cast<uint64_t>(d.SizeOfData);
             at++) {
            char c;
            if (!image.read(at, &c, 1)) break;
            if (c == '\0') {
                terminated = true;
                break;
            }
            if (name_length + 1 < sizeof(name)) name[name_length++] = c;
        }
        if (!terminated) continue;
        name[name_length] = '\0';
        uint32_t data1, age;
        uint16_t data2, data3;
        __builtin_memcpy(&data1, record + 4, 4);
        __builtin_memcpy(&data2, record + 8, 2);
        __builtin_memcpy(&data3, record + 10, 2);
        __builtin_memcpy(&age, record + 20, 4);
        StringSink sink{id->debug_id, sizeof(id->debug_id), 0};
        char buffer[48];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.hex_upper(data1, 8);
        w.hex_upper(data2, 4);
        w.hex_upper(data3, 4);
        for (int k = 12; k < 20; k++) w.hex_upper(record[k], 2);
        w.hex_upper(age);
        w.flush();
        __builtin_memcpy(id->pdb_name, name, name_length + 1);
        return true;
    }
    return true;
}

}  // namespace win
}  // namespace platform
}  // namespace crashagent
