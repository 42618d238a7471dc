// SPDX-License-Identifier: Apache-2.0
// "fragile": a small C++ library with a bug, bound to Java with JavaCPP
// (io.github.crashagent.samples.javacpp.Fragile). The JavaCPP Maven plugin compiles it into the
// generated JNI library libjniFragile.so.
#pragma once

#include <cstring>
#include <string>
#include <vector>

namespace fragile {

struct Record {
    const char* name;
    int size;
};

// Keeps named records. nameLength() trusts its index: on an empty registry it reads through a
// null pointer, as real libraries do when their callers break a precondition.
class Registry {
public:
    Registry() : records_(nullptr), count_(0) {}

    int count() const { return count_; }

    int nameLength(int index) const { return static_cast<int>(std::strlen(records_[index].name)); }

private:
    Record* records_;
    int count_;
};

}  // namespace fragile
