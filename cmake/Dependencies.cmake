# Every dependency is a Debian package found here; nothing is downloaded at build time.
# `make deps` (the Makefile) installs the packages.
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)

# OpenBLAS ships a CMake config on Debian; an unpacked copy (the GPU machine) can be given with
# -DOpenBLAS_LIBRARIES=... -DOpenBLAS_INCLUDE_DIRS=...
# The OpenMP build of OpenBLAS comes first: it runs its GEMMs on the OpenMP thread pool the rest
# of kiln uses, and waits passively with it. The pthreads build keeps its own threads, which
# poll with sched_yield between calls and took ~40% of the CPU of a small-GPT training step on
# 2 cores (half the step's CPU time; bench/train, docs/benchmarks.md).
if(NOT OpenBLAS_LIBRARIES)
  find_package(OpenBLAS CONFIG QUIET NO_DEFAULT_PATH
               PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/cmake/openblas)
  if(NOT OpenBLAS_FOUND)
    find_package(OpenBLAS CONFIG REQUIRED)
    message(WARNING "kiln: using ${OpenBLAS_LIBRARIES}; install libopenblas-openmp-dev for the "
                    "OpenMP build, which is about 2x cheaper in CPU time for small GEMMs")
  endif()
endif()
add_library(kiln_openblas INTERFACE)
target_include_directories(kiln_openblas SYSTEM INTERFACE ${OpenBLAS_INCLUDE_DIRS})
target_link_libraries(kiln_openblas INTERFACE ${OpenBLAS_LIBRARIES})

if(KILN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(KILN_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# ICU's NFC serves tokenizer.json files whose normalizer is NFC (Qwen2). Optional: without it
# such files are refused with a message saying so (the GPU machine's image may lack it).
find_package(ICU COMPONENTS uc QUIET)

# PCRE2 (UTF + Unicode properties, JIT) runs GPT-2's pre-tokenisation regex in text/.
# Found directly where there is no pkg-config (the GPU machine's image, with packages unpacked
# by ../shared/device/fetch-deps.sh), under the same target name.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
else()
  find_path(PCRE2_INCLUDE_DIR pcre2.h REQUIRED)
  find_library(PCRE2_LIBRARY pcre2-8 REQUIRED)
  add_library(PkgConfig::PCRE2 INTERFACE IMPORTED)
  target_include_directories(PkgConfig::PCRE2 INTERFACE ${PCRE2_INCLUDE_DIR})
  target_link_libraries(PkgConfig::PCRE2 INTERFACE ${PCRE2_LIBRARY})
endif()
