# KILN_SANITIZE: AddressSanitizer + UndefinedBehaviorSanitizer on every target (CPU builds).
if(KILN_SANITIZE)
  if(KILN_CUDA_ENABLED)
    message(FATAL_ERROR "KILN_SANITIZE needs a CPU-only build (-DKILN_CUDA=OFF)")
  endif()
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
