// SPDX-License-Identifier: Apache-2.0
// A GNU assembler macro for the test DLLs: `seh_call_frame NAME, HANDLER` defines NAME(fn, arg),
// which calls fn(arg) inside a frame whose language handler is HANDLER and returns 0. gcc has no
// __try, so this is how a test gets a frame-based handler. The caller ends the procedure with
// .seh_endproc, after any resume label of its own.
#pragma once

asm(R"(
    .macro seh_call_frame name, handler
    .text
    .globl \name
    .def \name; .scl 2; .type 32; .endef
    .seh_proc \name
\name:
    sub $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    .seh_handler \handler, @except
    mov %rcx, %rax
    mov %rdx, %rcx
    call *%rax
    nop
    xor %eax, %eax
    add $40, %rsp
    ret
    .endm
)");
