// The adder layer's loops on 8 floats (AVX2), chosen at run time by core/adder.cpp.
#include "core/adder_kernels.h"
#include "core/float_vec.h"

namespace apot::adder_detail {

namespace {
APOT_FLOAT_VEC(Avx2Vec, __m256, 8, _mm256, 256);
}  // namespace

extern const AdderKernels kAdderAvx2 = kernels_for<Avx2Vec>();

}  // namespace apot::adder_detail
