# The integer engine and its kernels (deploy/engine.h), one test file per source file; the SIMD variants
# of a kernel are tested in the file of the concept (as tests/core/project_test.cpp does).
apot_add_tests(deploy_engine_tests
  SOURCES engine_test.cpp kernel_test.cpp input_quant_test.cpp act_quantize_test.cpp acc_quantize_test.cpp
          requant_test.cpp
          conv_shift_add_test.cpp conv_scalar_test.cpp conv_avx2_test.cpp conv_avx512_vnni_test.cpp
          pooling_test.cpp
  LIBS apot_deploy)
