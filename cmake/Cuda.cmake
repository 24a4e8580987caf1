# Decides whether the CUDA backend is built (KILN_CUDA_ENABLED) and for which architectures.
include(CheckLanguage)

set(KILN_CUDA_ENABLED OFF)
if(NOT KILN_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(KILN_CUDA_ENABLED ON)
  elseif(KILN_CUDA STREQUAL "ON")
    message(FATAL_ERROR "KILN_CUDA=ON but no CUDA compiler was found (set CUDACXX or PATH)")
  endif()
endif()

if(KILN_CUDA_ENABLED)
  # Architectures: `native` when a GPU is visible, else a list covering Ampere and Hopper.
  # CI passes one architecture to keep the compile short.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
    execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE kiln_smi_status OUTPUT_QUIET ERROR_QUIET)
    if(kiln_smi_status EQUAL 0)
      set(CMAKE_CUDA_ARCHITECTURES native)
    else()
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
  endif()
  enable_language(CUDA)
  # CMake 3.25 does not know nvcc's C++20 flag (CUDA 12+ has it; CMake learns it in 3.26).
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION
     AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "kiln: CUDA architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()
