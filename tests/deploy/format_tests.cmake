# The .apot file format: bit packing, checksum, validation, save / load.
apot_add_tests(deploy_format_tests
  SOURCES bit_pack_test.cpp crc32_test.cpp validate_test.cpp model_file_test.cpp
  LIBS apot_deploy ZLIB::ZLIB)
