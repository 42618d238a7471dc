// SPDX-License-Identifier: Apache-2.0
/* jni_md.h for Windows x86-64, used when cross-compiling with mingw-w64.
   Debian's JDK ships only the Linux jni_md.h; these are the Windows definitions of the same macros. */
#ifndef CRASHAGENT_WIN32_JNI_MD_H
#define CRASHAGENT_WIN32_JNI_MD_H

#ifndef JNIEXPORT
#define JNIEXPORT __declspec(dllexport)
#endif
#define JNIIMPORT __declspec(dllimport)
#define JNICALL __stdcall

typedef long jint;
typedef long long jlong;
typedef signed char jbyte;

#endif
