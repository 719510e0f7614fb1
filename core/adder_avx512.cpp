// The adder layer's loops on 16 floats (AVX-512F), chosen at run time by core/adder.cpp.
#include "core/adder_kernels.h"
#include "core/float_vec.h"

namespace apot::adder_detail {

namespace {
APOT_FLOAT_VEC(Avx512Vec, __m512, 16, _mm512, 512);
}  // namespace

extern const AdderKernels kAdderAvx512 = kernels_for<Avx512Vec>();

}  // namespace apot::adder_detail
