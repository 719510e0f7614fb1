// <immintrin.h> for the AVX-512 files. GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(),
// which -Wmaybe-uninitialized reports at every inlined use (GCC bug 105593, fixed in GCC 13); the warning
// is silenced for the header's lines only.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
