// SPDX-License-Identifier: Apache-2.0
// The aarch64 signal-frame reader (posix/aarch64_fault.h), over hand-made record areas: on any
// host, since qemu-user writes no esr_context record and real arm64 hardware is not at hand.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "posix/aarch64_fault.h"

using crashagent::posix::esr_access;
using crashagent::posix::esr_from_signal_records;

namespace {

constexpr uint32_t kFpsimdMagic = 0x46508001;

struct Area {
    std::vector<unsigned char> bytes;

    Area& record(uint32_t magic, uint32_t size, uint64_t first_word = 0) {
        size_t at = bytes.size();
        bytes.resize(at + (size < 16 ? 16 : size));
        memcpy(&bytes[at], &magic, 4);
        memcpy(&bytes[at + 4], &size, 4);
        memcpy(&bytes[at + 8], &first_word, 8);
        return *this;
    }
    Area& end() { return record(0, 0); }
    uint64_t esr() const { return esr_from_signal_records(bytes.data(), bytes.size()); }
};

// ESR values as the kernel reports them: EC in bits 31:26, WnR in bit 6.
constexpr uint64_t kDataAbortWrite = (0x24ull << 26) | (1u << 25) | (1u << 6) | 0x05;
constexpr uint64_t kDataAbortRead = (0x24ull << 26) | (1u << 25) | 0x05;
constexpr uint64_t kInstructionAbort = (0x20ull << 26) | (1u << 25) | 0x0f;
constexpr uint64_t kBrk = (0x3cull << 26) | (1u << 25) | 0x3e8;

}  // namespace

TEST_CASE("the ESR comes from its record after the FP/SIMD record") {
    Area area;
    area.record(kFpsimdMagic, 528).record(crashagent::posix::kAarch64EsrMagic, 16, kDataAbortWrite).end();
    CHECK(area.esr() == kDataAbortWrite);
    CHECK(std::string(esr_access(area.esr())) == "write");
}

TEST_CASE("the ESR's exception class and WnR give the access") {
    CHECK(std::string(esr_access(kDataAbortWrite)) == "write");
    CHECK(std::string(esr_access(kDataAbortRead)) == "read");
    CHECK(std::string(esr_access((0x25ull << 26) | (1u << 6))) == "write");  // from the same level
    CHECK(std::string(esr_access(kInstructionAbort)) == "execute");
    CHECK(esr_access(kBrk) == nullptr);
    CHECK(esr_access(0) == nullptr);
}

TEST_CASE("no ESR record: 0, the access unknown") {
    Area area;
    area.record(kFpsimdMagic, 528).end();
    CHECK(area.esr() == 0);
    CHECK(Area{}.esr() == 0);
}

TEST_CASE("malformed records end the walk inside the area") {
    SUBCASE("a record of size 0 would never advance") {
        Area area;
        area.record(kFpsimdMagic, 0).record(crashagent::posix::kAarch64EsrMagic, 16, kDataAbortRead);
        CHECK(area.esr() == 0);
    }
    SUBCASE("a record that claims more than the area holds") {
        Area area;
        area.record(kFpsimdMagic, 528).record(crashagent::posix::kAarch64EsrMagic, 16, kDataAbortRead);
        uint32_t too_big = 528 + 16 + 1;
        memcpy(&area.bytes[4], &too_big, 4);
        CHECK(area.esr() == 0);
    }
    SUBCASE("an ESR record cut off by the end of the area") {
        Area area;
        area.record(crashagent::posix::kAarch64EsrMagic, 16, kDataAbortRead);
        CHECK(esr_from_signal_records(area.bytes.data(), 12) == 0);
        CHECK(esr_from_signal_records(area.bytes.data(), 16) == kDataAbortRead);
    }
    SUBCASE("an ESR record too small for the register") {
        Area area;
        area.record(crashagent::posix::kAarch64EsrMagic, 8, kDataAbortRead).end();
        CHECK(area.esr() == 0);
    }
}
