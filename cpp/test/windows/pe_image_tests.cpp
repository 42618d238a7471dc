// SPDX-License-Identifier: Apache-2.0
// Unit tests of windows/pe_image, run under Wine: loaded modules, and images built in memory that
// are truncated or hostile. The in-memory images end right before a PAGE_NOACCESS page, so a read
// past the end of one faults the test instead of passing unseen.
//   pe_image_tests.exe                       the doctest cases
//   pe_image_tests.exe --identity <dll>...   loads each DLL and prints what the reader finds in
//                                            it, for pe_image_check.py to compare with the file
#define DOCTEST_CONFIG_IMPLEMENT
#define DOCTEST_CONFIG_NO_MULTITHREADING  // mingw-w64 with win32 threads has no std::mutex
#include <doctest/doctest.h>

#include <windows.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "windows/pe_image.h"

using namespace crashagent::platform::win;

namespace {

constexpr uint32_t kImageSize = 0x3000;
constexpr uint32_t kNtAt = 0x80;
constexpr uint32_t kExportsAt = 0x1000;
constexpr uint32_t kFunctionsAt = 0x1100;
constexpr uint32_t kOrdinalsAt = 0x1180;
constexpr uint32_t kNamesAt = 0x1200;
constexpr uint32_t kAlphaAt = 0x1300;
constexpr uint32_t kBetaAt = 0x1310;
constexpr uint32_t kDebugAt = 0x1400;
constexpr uint32_t kRsdsAt = 0x1500;
constexpr uint32_t kConfigAt = 0x1600;
constexpr uint32_t kCookieAt = 0x1800;
constexpr uint32_t kAlphaRva = 0x2000;
constexpr uint32_t kBetaRva = 0x2040;
const char kPdbName[] = "C:\\build\\test.pdb";

// A well-formed PE32+ image, as loaded, in kImageSize bytes that end at a PAGE_NOACCESS page.
// Each test changes one thing in it.
class TestImage {
public:
    TestImage() {
        memory_ = static_cast<uint8_t*>(VirtualAlloc(nullptr, kImageSize + 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
        DWORD old = 0;
        VirtualProtect(memory_ + kImageSize, 4096, PAGE_NOACCESS, &old);
        auto* dos = at<IMAGE_DOS_HEADER>(0);
        dos->e_magic = IMAGE_DOS_SIGNATURE;
        dos->e_lfanew = kNtAt;
        auto* nt = this->nt();
        nt->Signature = IMAGE_NT_SIGNATURE;
        nt->FileHeader.Machine = IMAGE_FILE_MACHINE_AMD64;
        nt->FileHeader.TimeDateStamp = 0x5E1F00D1;
        nt->FileHeader.SizeOfOptionalHeader = sizeof(IMAGE_OPTIONAL_HEADER64);
        nt->OptionalHeader.Magic = IMAGE_NT_OPTIONAL_HDR64_MAGIC;
        nt->OptionalHeader.SizeOfImage = kImageSize;
        nt->OptionalHeader.NumberOfRvaAndSizes = IMAGE_NUMBEROF_DIRECTORY_ENTRIES;
        set_directory(IMAGE_DIRECTORY_ENTRY_EXPORT, kExportsAt, 0x400);
        auto* exports = this->exports();
        exports->NumberOfFunctions = 2;
        exports->NumberOfNames = 2;
        exports->AddressOfFunctions = kFunctionsAt;
        exports->AddressOfNames = kNamesAt;
        exports->AddressOfNameOrdinals = kOrdinalsAt;
        at<uint32_t>(kFunctionsAt)[0] = kAlphaRva;
        at<uint32_t>(kFunctionsAt)[1] = kBetaRva;
        at<uint32_t>(kNamesAt)[0] = kAlphaAt;
        at<uint32_t>(kNamesAt)[1] = kBetaAt;
        at<uint16_t>(kOrdinalsAt)[0] = 0;
        at<uint16_t>(kOrdinalsAt)[1] = 1;
        std::strcpy(at<char>(kAlphaAt), "alpha");
        std::strcpy(at<char>(kBetaAt), "beta");
        set_directory(IMAGE_DIRECTORY_ENTRY_DEBUG, kDebugAt, sizeof(IMAGE_DEBUG_DIRECTORY));
        auto* debug = this->debug();
        debug->Type = IMAGE_DEBUG_TYPE_CODEVIEW;
        debug->SizeOfData = 24 + sizeof(kPdbName);
        debug->AddressOfRawData = kRsdsAt;
        uint8_t* rsds = at<uint8_t>(kRsdsAt);
        std::memcpy(rsds, "RSDS", 4);
        for (int i = 0; i < 16; i++) rsds[4 + i] = static_cast<uint8_t>(0x10 + i);
        uint32_t age = 3;
        std::memcpy(rsds + 20, &age, 4);
        std::memcpy(rsds + 24, kPdbName, sizeof(kPdbName));
        set_directory(IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG, kConfigAt, sizeof(IMAGE_LOAD_CONFIG_DIRECTORY64));
        config()->Size = sizeof(IMAGE_LOAD_CONFIG_DIRECTORY64);
        config()->SecurityCookie = reinterpret_cast<uint64_t>(memory_) + kCookieAt;
    }
    ~TestImage() { VirtualFree(memory_, 0, MEM_RELEASE); }
    TestImage(const TestImage&) = delete;
    TestImage& operator=(const TestImage&) = delete;

    template <typename T>
    T* at(uint32_t rva) { return reinterpret_cast<T*>(memory_ + rva); }
    IMAGE_NT_HEADERS64* nt() { return at<IMAGE_NT_HEADERS64>(kNtAt); }
    IMAGE_EXPORT_DIRECTORY* exports() { return at<IMAGE_EXPORT_DIRECTORY>(kExportsAt); }
    IMAGE_DEBUG_DIRECTORY* debug() { return at<IMAGE_DEBUG_DIRECTORY>(kDebugAt); }
    IMAGE_LOAD_CONFIG_DIRECTORY64* config() { return at<IMAGE_LOAD_CONFIG_DIRECTORY64>(kConfigAt); }
    void set_directory(int index, uint32_t rva, uint32_t size) {
        nt()->OptionalHeader.DataDirectory[index].VirtualAddress = rva;
        nt()->OptionalHeader.DataDirectory[index].Size = size;
    }

    // The image as the reader sees it: all of it, or only its first `size` bytes (moved up to end
    // at the guard page, so that a read past them faults).
    PeImage image(uint32_t size = kImageSize) {
        if (size < kImageSize) {
            std::memmove(memory_ + kImageSize - size, memory_, size);
            return PeImage::in_memory(memory_ + kImageSize - size, size);
        }
        return PeImage::in_memory(memory_, size);
    }

private:
    uint8_t* memory_;
};

std::string export_at(const PeImage& image, uint64_t rva) {
    char name[64];
    return pe_export_at(image, rva, name, sizeof(name)) ? name : "<none>";
}

std::string nearest_export(const PeImage& image, uint64_t rva) {
    char name[64];
    uint64_t offset = 0;
    if (!pe_nearest_export(image, rva, name, sizeof(name), &offset)) return "<none>";
    char text[96];
    std::snprintf(text, sizeof(text), "%s+0x%llx", name, static_cast<unsigned long long>(offset));
    return text;
}

PeModuleIdentity identity_of(const PeImage& image) {
    PeModuleIdentity id;
    pe_module_identity(image, &id);
    return id;
}

}  // namespace

TEST_CASE("a well-formed image: identity, exports, security cookie") {
    TestImage t;
    PeImage image = t.image();
    REQUIRE(image.valid());
    CHECK(image.identity().time_stamp == 0x5E1F00D1);
    CHECK(image.identity().image_size == kImageSize);
    PeModuleIdentity id = identity_of(image);
    CHECK(std::string(id.code_id) == "5E1F00D13000");
    // GUID fields little-endian: 13121110-1514-1716, then bytes 18..1F as they are; age 3.
    CHECK(std::string(id.debug_id) == "131211101514171618191A1B1C1D1E1F3");
    CHECK(std::string(id.pdb_name) == kPdbName);
    CHECK(export_at(image, kAlphaRva) == "alpha");
    CHECK(export_at(image, kBetaRva) == "beta");
    CHECK(export_at(image, kAlphaRva + 1) == "<none>");
    CHECK(nearest_export(image, kAlphaRva + 0x10) == "alpha+0x10");
    CHECK(nearest_export(image, kBetaRva + 0x200) == "beta+0x200");
    CHECK(nearest_export(image, kAlphaRva - 1) == "<none>");
    uint64_t cookie = 0;
    CHECK(pe_security_cookie_rva(image, &cookie));
    CHECK(cookie == kCookieAt);
}

TEST_CASE("headers that do not fit: no image, no identity") {
    SUBCASE("e_lfanew past the end") {
        TestImage t;
        t.at<IMAGE_DOS_HEADER>(0)->e_lfanew = 0x7FFFFFF0;
        CHECK_FALSE(t.image().valid());
    }
    SUBCASE("e_lfanew negative") {
        TestImage t;
        t.at<IMAGE_DOS_HEADER>(0)->e_lfanew = -8;
        CHECK_FALSE(t.image().valid());
    }
    SUBCASE("NT headers cut by the end of the image") {
        TestImage t;
        t.at<IMAGE_DOS_HEADER>(0)->e_lfanew = kImageSize - 16;
        CHECK_FALSE(t.image().valid());
    }
    SUBCASE("image truncated inside the NT headers") {
        TestImage t;
        CHECK_FALSE(t.image(kNtAt + 40).valid());
    }
    SUBCASE("image shorter than a DOS header") {
        TestImage t;
        CHECK_FALSE(t.image(32).valid());
    }
    SUBCASE("SizeOfImage too small for its own headers") {
        TestImage t;
        t.nt()->OptionalHeader.SizeOfImage = kNtAt + 16;
        CHECK_FALSE(t.image().valid());
    }
    SUBCASE("no MZ, no PE, or PE32") {
        TestImage a, b, c;
        a.at<IMAGE_DOS_HEADER>(0)->e_magic = 0;
        b.nt()->Signature = 0;
        c.nt()->OptionalHeader.Magic = IMAGE_NT_OPTIONAL_HDR32_MAGIC;
        CHECK_FALSE(a.image().valid());
        CHECK_FALSE(b.image().valid());
        CHECK_FALSE(c.image().valid());
    }
    TestImage t;
    t.at<IMAGE_DOS_HEADER>(0)->e_lfanew = 0x7FFFFFF0;
    PeImage image = t.image();
    PeModuleIdentity id = identity_of(image);
    CHECK_FALSE(pe_module_identity(image, &id));
    CHECK(std::string(id.code_id).empty());
    CHECK(std::string(id.debug_id).empty());
    CHECK(export_at(image, kAlphaRva) == "<none>");
    CHECK(nearest_export(image, kBetaRva) == "<none>");
}

TEST_CASE("NumberOfRvaAndSizes is bounded by the 16 entries and the optional header") {
    SUBCASE("huge: the 16 entries are read, nothing after them") {
        TestImage t;
        t.nt()->OptionalHeader.NumberOfRvaAndSizes = 0xFFFFFFFF;
        PeImage image = t.image();
        REQUIRE(image.valid());
        CHECK(export_at(image, kAlphaRva) == "alpha");
        uint32_t rva = 0, size = 0;
        CHECK_FALSE(image.directory(IMAGE_NUMBEROF_DIRECTORY_ENTRIES, &rva, &size));
        CHECK_FALSE(image.directory(0xFFFFFFF0u, &rva, &size));
    }
    SUBCASE("huge, and the optional header holds one entry: only the export directory") {
        TestImage t;
        t.nt()->OptionalHeader.NumberOfRvaAndSizes = 0xFFFFFFFF;
        t.nt()->FileHeader.SizeOfOptionalHeader = offsetof(IMAGE_OPTIONAL_HEADER64, DataDirectory) + 8;
        PeImage image = t.image();
        REQUIRE(image.valid());
        CHECK(export_at(image, kAlphaRva) == "alpha");
        CHECK(std::string(identity_of(image).debug_id).empty());
    }
    SUBCASE("zero: no directories") {
        TestImage t;
        t.nt()->OptionalHeader.NumberOfRvaAndSizes = 0;
        PeImage image = t.image();
        REQUIRE(image.valid());
        CHECK(export_at(image, kAlphaRva) == "<none>");
        CHECK(std::string(identity_of(image).code_id) == "5E1F00D13000");
        CHECK(std::string(identity_of(image).debug_id).empty());
    }
}

TEST_CASE("export tables that point outside the image: not found") {
    TestImage t;
    SUBCASE("the directory") { t.set_directory(IMAGE_DIRECTORY_ENTRY_EXPORT, 0x7FFFF000, 0x100); }
    SUBCASE("the directory's size wraps") { t.set_directory(IMAGE_DIRECTORY_ENTRY_EXPORT, kExportsAt, 0xFFFFFFFF); }
    SUBCASE("the directory's end") { t.set_directory(IMAGE_DIRECTORY_ENTRY_EXPORT, kImageSize - 8, 0x28); }
    SUBCASE("the name table") { t.exports()->AddressOfNames = 0x7FFF0000; }
    SUBCASE("the name table's end") { t.exports()->AddressOfNames = kImageSize - 4; }
    SUBCASE("the ordinal table") { t.exports()->AddressOfNameOrdinals = 0xFFFFFFFE; }
    SUBCASE("NumberOfNames huge") { t.exports()->NumberOfNames = 0x40000000; }
    SUBCASE("NumberOfNames runs past the end") { t.exports()->NumberOfNames = (kImageSize - kNamesAt) / 4 + 1; }
    SUBCASE("the function table") { t.exports()->AddressOfFunctions = 0xFFFFFFF0; }
    SUBCASE("ordinals past NumberOfFunctions") {
        t.at<uint16_t>(kOrdinalsAt)[0] = 7;
        t.at<uint16_t>(kOrdinalsAt)[1] = 0xFFFF;
    }
    PeImage image = t.image();
    REQUIRE(image.valid());
    CHECK(export_at(image, kAlphaRva) == "<none>");
    CHECK(export_at(image, kBetaRva) == "<none>");
    CHECK(nearest_export(image, kBetaRva + 4) == "<none>");
}

TEST_CASE("export names outside the image, or without their NUL: that export is not found") {
    TestImage t;
    SUBCASE("outside") { t.at<uint32_t>(kNamesAt)[0] = 0x7FFFFFFF; }
    SUBCASE("negative as a signed RVA") { t.at<uint32_t>(kNamesAt)[0] = 0xFFFFFFF8; }
    SUBCASE("no NUL before the end of the image") {
        std::memset(t.at<char>(kImageSize - 16), 'A', 16);
        t.at<uint32_t>(kNamesAt)[0] = kImageSize - 16;
    }
    PeImage image = t.image();
    CHECK(export_at(image, kAlphaRva) == "<none>");
    CHECK(nearest_export(image, kAlphaRva + 8) == "<none>");
    CHECK(export_at(image, kBetaRva) == "beta");
}

TEST_CASE("export tables cut by a truncated image: not found") {
    TestImage t;
    PeImage image = t.image(kExportsAt + 20);  // the export directory itself is cut
    REQUIRE(image.valid());
    CHECK(export_at(image, kAlphaRva) == "<none>");
    TestImage u;
    PeImage names_cut = u.image(kNamesAt + 4);  // alpha's name RVA is there, beta's is not
    REQUIRE(names_cut.valid());
    CHECK(export_at(names_cut, kAlphaRva) == "<none>");
    CHECK(export_at(names_cut, kBetaRva) == "<none>");
}

TEST_CASE("CodeView records cut short or hostile: no debug identity") {
    TestImage t;
    SUBCASE("SizeOfData shorter than the RSDS header") { t.debug()->SizeOfData = 20; }
    SUBCASE("SizeOfData ends inside the PDB name") { t.debug()->SizeOfData = 24 + 5; }
    SUBCASE("the PDB name without its NUL") {
        std::memset(t.at<char>(kRsdsAt + 24), 'x', sizeof(kPdbName));
    }
    SUBCASE("the record runs past the end of the image") {
        t.debug()->AddressOfRawData = kImageSize - 30;
        std::memcpy(t.at<char>(kImageSize - 30), "RSDS", 4);
    }
    SUBCASE("the record at the end of the image, its name without NUL up to the end") {
        t.debug()->AddressOfRawData = kImageSize - 40;
        t.debug()->SizeOfData = 40;
        std::memcpy(t.at<char>(kImageSize - 40), "RSDS", 4);
        std::memset(t.at<char>(kImageSize - 16), 'y', 16);
    }
    SUBCASE("the record outside the image") { t.debug()->AddressOfRawData = 0x7FFFFF00; }
    SUBCASE("the debug directory outside the image") { t.set_directory(IMAGE_DIRECTORY_ENTRY_DEBUG, 0x7FFFF000, 28); }
    SUBCASE("the debug directory's size wraps") { t.set_directory(IMAGE_DIRECTORY_ENTRY_DEBUG, kDebugAt, 0xFFFFFFF0); }
    SUBCASE("not RSDS") { std::memcpy(t.at<char>(kRsdsAt), "NB10", 4); }
    PeImage image = t.image();
    REQUIRE(image.valid());
    PeModuleIdentity id = identity_of(image);
    CHECK(std::string(id.code_id) == "5E1F00D13000");  // the headers still identify the image
    CHECK(std::string(id.debug_id).empty());
    CHECK(std::string(id.pdb_name).empty());
}

TEST_CASE("load configurations that point outside the image: no cookie") {
    TestImage t;
    SUBCASE("the directory") { t.set_directory(IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG, 0x7FFFF000, 0x100); }
    SUBCASE("the directory too small for SecurityCookie") { t.set_directory(IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG, kConfigAt, 0x50); }
    SUBCASE("its Size too small") { t.config()->Size = 0x50; }
    SUBCASE("the cookie below the image") { t.config()->SecurityCookie = 8; }
    SUBCASE("the cookie past its end") {
        t.config()->SecurityCookie = reinterpret_cast<uint64_t>(t.at<char>(0)) + kImageSize - 4;
    }
    SUBCASE("the cookie address wraps") { t.config()->SecurityCookie = ~0ull; }
    uint64_t rva = 0;
    CHECK_FALSE(pe_security_cookie_rva(t.image(), &rva));
}

TEST_CASE("loaded modules: headers, exports and identity as the loader sees them") {
    for (const char* module : {"ntdll.dll", "kernel32.dll", "msvcrt.dll"}) {
        CAPTURE(module);
        auto base = reinterpret_cast<uint64_t>(GetModuleHandleA(module));
        REQUIRE(base != 0);
        PeImage image = PeImage::loaded(base);
        REQUIRE(image.valid());
        const auto* dos = reinterpret_cast<const IMAGE_DOS_HEADER*>(base);
        const auto* nt = reinterpret_cast<const IMAGE_NT_HEADERS64*>(base + dos->e_lfanew);
        CHECK(image.identity().time_stamp == nt->FileHeader.TimeDateStamp);
        CHECK(image.identity().image_size == nt->OptionalHeader.SizeOfImage);
        PeModuleIdentity id = identity_of(image);
        char code_id[24];
        std::snprintf(code_id, sizeof(code_id), "%08lX%lx", static_cast<unsigned long>(nt->FileHeader.TimeDateStamp),
                      static_cast<unsigned long>(nt->OptionalHeader.SizeOfImage));
        CHECK(std::string(id.code_id) == code_id);
        // Every export the reader finds by its address is the one GetProcAddress gives by name.
        int checked = 0;
        bool agrees = true;
        for_each_named_export(image, [&](uint32_t function_rva, uint32_t name_rva) {
            char name[256];
            if (!image.read_string(name_rva, name, sizeof(name))) return true;
            auto address = reinterpret_cast<uint64_t>(reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(base), name)));
            if (address != base + function_rva) agrees = false;
            char found[256];
            if (!pe_export_at(image, function_rva, found, sizeof(found)) ||
                GetProcAddress(reinterpret_cast<HMODULE>(base), found) != GetProcAddress(reinterpret_cast<HMODULE>(base), name)) {
                agrees = false;
            }
            checked++;
            return checked < 200;
        });
        CHECK(agrees);
        CHECK(checked > 10);
    }
    auto ntdll = reinterpret_cast<uint64_t>(GetModuleHandleA("ntdll.dll"));
    auto unwind = reinterpret_cast<uint64_t>(reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(ntdll), "RtlVirtualUnwind")));
    REQUIRE(unwind != 0);
    CHECK(export_at(PeImage::loaded(ntdll), unwind - ntdll) == "RtlVirtualUnwind");
    CHECK(nearest_export(PeImage::loaded(ntdll), unwind - ntdll + 1) == "RtlVirtualUnwind+0x1");
}

TEST_CASE("loaded: addresses that are no image's base give no image") {
    int on_stack = 0;
    auto ntdll = reinterpret_cast<uint64_t>(GetModuleHandleA("ntdll.dll"));
    CHECK_FALSE(PeImage::loaded(reinterpret_cast<uint64_t>(&on_stack)).valid());
    CHECK_FALSE(PeImage::loaded(0).valid());
    CHECK_FALSE(PeImage::loaded(ntdll + 0x1000).valid());
    // A copy of a loaded image's headers in private memory is not a loaded image.
    TestImage t;
    CHECK_FALSE(PeImage::loaded(reinterpret_cast<uint64_t>(t.at<char>(0))).valid());
    CHECK(image_base_of(reinterpret_cast<uint64_t>(&on_stack)) == 0);
    CHECK(image_base_of(reinterpret_cast<uint64_t>(reinterpret_cast<void*>(&GetProcAddress))) != 0);
}

TEST_CASE("ImageCache: a value counts only for the same image at the same base") {
    static ImageCache<int, 4> cache;
    ImageIdentity one{0x1000, 0x5000};
    ImageIdentity other{0x1001, 0x5000};
    int value = 0;
    CHECK_FALSE(cache.find(0x7000, 0x6000, one, &value));
    cache.remember(0x7000, 0x6000, one, 42);
    CHECK(cache.find(0x7000, 0x6000, one, &value));
    CHECK(value == 42);
    CHECK_FALSE(cache.find(0x7000, 0x6000, other, &value));     // another image at that base
    CHECK_FALSE(cache.find(0x7000, 0x8000, one, &value));       // the key in another module
    CHECK_FALSE(cache.find(0x7008, 0x6000, one, &value));
    cache.remember(0x7000, 0x6000, other, 43);                  // the new image is remembered beside the old
    CHECK(cache.find(0x7000, 0x6000, other, &value));
    CHECK(value == 43);
    cache.remember(0, 0x6000, one, 1);                          // key 0 marks a free slot
    CHECK_FALSE(cache.find(0, 0x6000, one, &value));
    cache.remember(0x9000, 0x6000, one, 44);
    cache.remember(0xA000, 0x6000, one, 45);
    cache.remember(0xB000, 0x6000, one, 46);                    // full: not remembered
    CHECK(cache.find(0xA000, 0x6000, one, &value));
    CHECK(value == 45);
    CHECK_FALSE(cache.find(0xB000, 0x6000, one, &value));
}

namespace {

// Prints what the reader finds in each DLL, loaded, for pe_image_check.py.
int print_identities(int argc, char** argv) {
    for (int i = 2; i < argc; i++) {
        HMODULE module = LoadLibraryA(argv[i]);
        if (!module) {
            std::printf("error %s: LoadLibrary failed (%lu)\n", argv[i], GetLastError());
            return 1;
        }
        PeImage image = PeImage::loaded(reinterpret_cast<uint64_t>(module));
        PeModuleIdentity id;
        bool valid = pe_module_identity(image, &id);
        std::printf("module %s\nvalid %d\ncode_id %s\ndebug_id %s\npdb_name %s\n", argv[i], valid ? 1 : 0, id.code_id,
                    id.debug_id[0] ? id.debug_id : "-", id.pdb_name[0] ? id.pdb_name : "-");
        uint64_t cookie = 0;
        if (pe_security_cookie_rva(image, &cookie)) {
            std::printf("cookie_rva %llx\n", static_cast<unsigned long long>(cookie));
        } else {
            std::printf("cookie_rva -\n");
        }
        for_each_named_export(image, [&](uint32_t function_rva, uint32_t name_rva) {
            char name[512];
            char nearest[512];
            uint64_t offset = 1;
            if (!image.read_string(name_rva, name, sizeof(name))) return true;
            bool found = pe_nearest_export(image, function_rva, nearest, sizeof(nearest), &offset);
            std::printf("export %x %s nearest %s %llx\n", function_rva, name, found ? nearest : "-",
                        static_cast<unsigned long long>(offset));
            return true;
        });
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--identity") == 0) return print_identities(argc, argv);
    doctest::Context context(argc, argv);
    return context.run();
}
