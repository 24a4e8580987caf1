# cuDNN, when the CUDA toolkit has it (NVIDIA ships it beside the toolkit or as libcudnn9-dev):
# defines the imported target kiln_cudnn and sets KILN_CUDNN_FOUND. It is optional: without it
# the CUDA build still works, and the few users of cuDNN (the LSTM that `kiln bench scaling`
# times) fall back to kiln's own code.
if(NOT KILN_CUDA_ENABLED OR TARGET kiln_cudnn)
  return()
endif()
find_path(KILN_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
find_library(KILN_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR}
             PATH_SUFFIXES lib lib64)
if(KILN_CUDNN_INCLUDE_DIR AND KILN_CUDNN_LIBRARY)
  set(KILN_CUDNN_FOUND ON)
  add_library(kiln_cudnn INTERFACE)
  target_include_directories(kiln_cudnn SYSTEM INTERFACE ${KILN_CUDNN_INCLUDE_DIR})
  target_link_libraries(kiln_cudnn INTERFACE ${KILN_CUDNN_LIBRARY})
  target_compile_definitions(kiln_cudnn INTERFACE KILN_CUDNN)
  message(STATUS "kiln: cuDNN ${KILN_CUDNN_LIBRARY}")
else()
  set(KILN_CUDNN_FOUND OFF)
  message(STATUS "kiln: cuDNN not found (the scaling benchmark times kiln's LSTM on CUDA)")
endif()
