// AVX2 path of project_scalar (project.cpp), on the tables scale_tables() moved into the input's domain:
// comparing |x| with those thresholds decides exactly as the reference's fl(|x| / alpha) >= midpoint,
// so both give identical bits without a division per element. Compiled with -mavx2 -mfma and only
// called when the CPU reports AVX2.
#include <immintrin.h>

#include <cstdint>

#include "core/project.h"

namespace apot {

namespace {

// Table lookups by a lane index: in-register permutes for up to 16 entries, gathers beyond.
struct Lookup8 {
  __m256 table;
  explicit Lookup8(const float* p) : table(_mm256_loadu_ps(p)) {}
  __m256 operator()(__m256i index) const { return _mm256_permutevar8x32_ps(table, index); }
};

struct Lookup16 {
  __m256 low, high;
  explicit Lookup16(const float* p) : low(_mm256_loadu_ps(p)), high(_mm256_loadu_ps(p + 8)) {}
  __m256 operator()(__m256i index) const {
    const __m256 in_high = _mm256_castsi256_ps(_mm256_cmpgt_epi32(index, _mm256_set1_epi32(7)));
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, index), _mm256_permutevar8x32_ps(high, index),
                            in_high);
  }
};

struct LookupGather {
  const float* table;
  explicit LookupGather(const float* p) : table(p) {}
  __m256 operator()(__m256i index) const { return _mm256_i32gather_ps(table, index, 4); }
};

// One element on the same tables: the streaming head and the tail. Returns false on NaN.
inline bool project_one(const ScaledTables& t, const float* in, float* out, size_t i) {
  const float x = in[i];
  if (x != x) return false;
  const float a = t.is_signed ? __builtin_fabsf(x) : x;
  int index = 0;
  for (int step = (1 << t.steps) >> 1; step >= 1; step >>= 1) index += a >= t.thresholds[index + step - 1] ? step : 0;
  float q = t.levels[index];
  if (t.is_signed && __builtin_signbit(x) && index > 0) q = -q;
  out[i] = q;
  return true;
}

// The binary search as an implicit tree: after level l, node (0 .. 2^(l+1) - 1) is the index prefix, and
// level l + 1 compares with tree[l + 1][node], a table of at most 8 entries: one permute per level.
struct SearchTree {
  float tree[4][8];
  explicit SearchTree(const ScaledTables& t) {
    const int entries = 1 << t.steps;
    for (int level = 0; level < 4; ++level) {
      for (int node = 0; node < 8; ++node) {
        const int probe = node * (entries >> level) + (entries >> (level + 1)) - 1;
        tree[level][node] = level < t.steps && node < (1 << level) ? t.thresholds[probe] : 0.0f;
      }
    }
  }
};

template <int kSteps>
struct TreeIndex {
  __m256 root;
  __m256 levels[4];
  explicit TreeIndex(const SearchTree& s) : root(_mm256_set1_ps(s.tree[0][0])) {
    for (int l = 1; l < 4; ++l) levels[l] = _mm256_loadu_ps(s.tree[l]);
  }
  __m256i operator()(__m256 a) const {
    // A true compare is -1: node - mask appends the bit.
    __m256i node = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_castps_si256(_mm256_cmp_ps(a, root, _CMP_GE_OQ)));
    for (int l = 1; l < kSteps; ++l) {
      const __m256 upper = _mm256_cmp_ps(a, _mm256_permutevar8x32_ps(levels[l], node), _CMP_GE_OQ);
      node = _mm256_sub_epi32(_mm256_add_epi32(node, node), _mm256_castps_si256(upper));
    }
    return node;
  }
};

// Tables of more than 16 entries: the plain search with gathers.
struct GatherIndex {
  const float* thresholds;
  int steps;
  __m256i operator()(__m256 a) const {
    __m256i index = _mm256_setzero_si256();
    for (int step = (1 << steps) >> 1; step >= 1; step >>= 1) {
      const __m256i probe = _mm256_add_epi32(index, _mm256_set1_epi32(step - 1));
      const __m256 upper = _mm256_cmp_ps(a, _mm256_i32gather_ps(thresholds, probe, 4), _CMP_GE_OQ);
      index = _mm256_add_epi32(index, _mm256_and_si256(_mm256_castps_si256(upper), _mm256_set1_epi32(step)));
    }
    return index;
  }
};

template <class IndexOf, class Lookup, bool kStream>
void run(const ScaledTables& t, const IndexOf& index_of, const float* in, float* out, size_t n, size_t* first_nan) {
  const Lookup level_at(t.levels);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  size_t i = 0;
  if (kStream) {  // streaming stores need 32-byte aligned output
    const size_t misaligned = (reinterpret_cast<uintptr_t>(out) / sizeof(float)) % 8;
    const size_t head = misaligned == 0 ? 0 : 8 - misaligned;
    for (; i < head && i < n; ++i) {
      if (!project_one(t, in, out, i)) {
        *first_nan = i;
        return;
      }
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    // Checked before the store, so it also holds when out aliases in.
    if (const int nan_lanes = _mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))) {
      *first_nan = i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(nan_lanes)));
      if (kStream) _mm_sfence();
      return;
    }
    const __m256 a = t.is_signed ? _mm256_andnot_ps(sign_mask, x) : x;
    const __m256i index = index_of(a);
    __m256 q = level_at(index);
    if (t.is_signed) {
      const __m256 nonzero = _mm256_castsi256_ps(_mm256_cmpgt_epi32(index, _mm256_setzero_si256()));
      q = _mm256_or_ps(q, _mm256_and_ps(_mm256_and_ps(x, sign_mask), nonzero));
    }
    if (kStream) {
      _mm256_stream_ps(out + i, q);
    } else {
      _mm256_storeu_ps(out + i, q);
    }
  }
  if (kStream) _mm_sfence();
  for (; i < n; ++i) {
    if (!project_one(t, in, out, i)) {
      *first_nan = i;
      return;
    }
  }
}

// Arrays larger than this bypass the caches on store: they would evict them anyway, and a streaming
// store saves the read-for-ownership of every output line.
constexpr size_t kStreamingBytes = size_t{8} << 20;

template <class IndexOf, class Lookup>
void dispatch_store(const ScaledTables& t, const IndexOf& index_of, const float* in, float* out, size_t n,
                    size_t* first_nan) {
  if (n * sizeof(float) >= kStreamingBytes) {
    run<IndexOf, Lookup, true>(t, index_of, in, out, n, first_nan);
  } else {
    run<IndexOf, Lookup, false>(t, index_of, in, out, n, first_nan);
  }
}

}  // namespace

void project_avx2(const ScaledTables& t, const float* in, float* out, size_t n, size_t* first_nan) {
  if (t.steps <= 4) {
    const SearchTree tree(t);
    switch (t.steps) {
      case 1: return dispatch_store<TreeIndex<1>, Lookup8>(t, TreeIndex<1>(tree), in, out, n, first_nan);
      case 2: return dispatch_store<TreeIndex<2>, Lookup8>(t, TreeIndex<2>(tree), in, out, n, first_nan);
      case 3: return dispatch_store<TreeIndex<3>, Lookup8>(t, TreeIndex<3>(tree), in, out, n, first_nan);
      default: return dispatch_store<TreeIndex<4>, Lookup16>(t, TreeIndex<4>(tree), in, out, n, first_nan);
    }
  }
  dispatch_store<GatherIndex, LookupGather>(t, GatherIndex{t.thresholds, t.steps}, in, out, n, first_nan);
}

}  // namespace apot
