# kiln_library(NAME DIR DEPS...): one library per top-level folder, from the .cpp files under
# it (and the .cu files when CUDA is on), linked in the layer order of docs/architecture.md. Host
# code for CUDA only lives in cuda/ folders; a no_cuda.cpp holds what a CPU-only build compiles
# instead.
function(kiln_library name dir)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(KILN_CUDA_ENABLED)
    file(GLOB_RECURSE cuda_sources CONFIGURE_DEPENDS ${dir}/*.cu)
    list(APPEND sources ${cuda_sources})
    list(FILTER sources EXCLUDE REGEX "/no_cuda\\.cpp$")
  else()
    list(FILTER sources EXCLUDE REGEX "/cuda/")
  endif()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARGN} PRIVATE kiln_warnings)
  if(KILN_CUDA_ENABLED)
    target_compile_definitions(${name} PUBLIC KILN_CUDA)
    set_target_properties(${name} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
  endif()
endfunction()
