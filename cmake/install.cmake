# apot as an installed CMake package: `cmake --install <build> --prefix P` puts the headers, and the
# tables they include (*.inc), under P/include/apot (the source tree's layout, so
# `#include "qat/quant_layers.h"` reads the same), the libraries under P/lib, the `apot` command under
# P/bin and the package config under P/lib/cmake/apot, for find_package(apot) and the targets
# apot::core, apot::qat, ... (examples/ uses it).
#
# Every library target named apot_<name> in the layers is part of the package as apot::<name>, in the
# tree too (an alias), so a new layer or library needs nothing here.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(APOT_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/apot)
set(APOT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/apot)

# The library targets apot_* defined in `dir` and the directories below it.
function(apot_collect_libraries dir out)
  set(found)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(target MATCHES "^apot_" AND type MATCHES "_LIBRARY$" AND NOT type STREQUAL "INTERFACE_LIBRARY")
      list(APPEND found ${target})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    apot_collect_libraries(${subdir} below)
    list(APPEND found ${below})
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

apot_collect_libraries(${PROJECT_SOURCE_DIR} APOT_LIBRARIES)
# Whoever links the static libraries needs the link options of the whole build (under APOT_SANITIZE the
# sanitizers' runtimes).
get_property(apot_link_options DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTY LINK_OPTIONS)
set(apot_layer_dirs)
foreach(library IN LISTS APOT_LIBRARIES)
  string(REGEX REPLACE "^apot_" "" name ${library})
  set_target_properties(${library} PROPERTIES EXPORT_NAME ${name})
  add_library(apot::${name} ALIAS ${library})

  # The layers include from the source root; an installed copy includes from P/include/apot, which
  # install(TARGETS ... INCLUDES DESTINATION) below adds.
  get_target_property(include_dirs ${library} INTERFACE_INCLUDE_DIRECTORIES)
  if(include_dirs)
    set(interface_dirs)
    foreach(dir IN LISTS include_dirs)
      if(dir STREQUAL PROJECT_SOURCE_DIR)
        set(dir "$<BUILD_INTERFACE:${dir}>")
      endif()
      list(APPEND interface_dirs ${dir})
    endforeach()
    set_target_properties(${library} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${interface_dirs}")
  endif()
  foreach(option IN LISTS apot_link_options)
    set_property(TARGET ${library} APPEND PROPERTY INTERFACE_LINK_OPTIONS "$<INSTALL_INTERFACE:${option}>")
  endforeach()

  # The layer's folder (models for models/torch_file): its headers, and those of the folders below it.
  get_target_property(source_dir ${library} SOURCE_DIR)
  file(RELATIVE_PATH relative ${PROJECT_SOURCE_DIR} ${source_dir})
  string(REGEX REPLACE "/.*" "" layer ${relative})
  list(APPEND apot_layer_dirs ${layer})
endforeach()
list(REMOVE_DUPLICATES apot_layer_dirs)

install(TARGETS ${APOT_LIBRARIES} EXPORT apotTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${APOT_INSTALL_INCLUDEDIR})
install(TARGETS apot RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(layer IN LISTS apot_layer_dirs)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer} DESTINATION ${APOT_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h" PATTERN "*.inc")
endforeach()

install(EXPORT apotTargets NAMESPACE apot:: DESTINATION ${APOT_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/apotConfig.cmake.in ${PROJECT_BINARY_DIR}/apotConfig.cmake
                              INSTALL_DESTINATION ${APOT_INSTALL_CMAKEDIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/apotConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/apotConfig.cmake ${PROJECT_BINARY_DIR}/apotConfigVersion.cmake
        DESTINATION ${APOT_INSTALL_CMAKEDIR})
