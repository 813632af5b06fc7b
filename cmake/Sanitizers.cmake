# Sanitizer builds (docs/reliability.md, "Sanitizers"). LACT_SANITIZE picks one:
#   none     the default; nothing changes (CI's Release build).
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (leaks too, through LSan); any UB aborts.
#   thread   ThreadSanitizer. Needs the instrumented Abseil from tools/build_tsan_abseil.sh at run
#            time (the tsan test preset sets LD_LIBRARY_PATH), or absl::Mutex is invisible to it.
# Everything we compile gets the flags; LibTorch, gRPC, protobuf, ... stay uninstrumented.
set(LACT_SANITIZE "none" CACHE STRING "Sanitizer build: none, address (ASan+UBSan) or thread (TSan)")
set_property(CACHE LACT_SANITIZE PROPERTY STRINGS none address thread)

if(LACT_SANITIZE STREQUAL "none" OR LACT_SANITIZE STREQUAL "")
  return()
endif()
if(LACT_BUILD_FUZZERS)
  message(FATAL_ERROR "LACT_SANITIZE=${LACT_SANITIZE} and LACT_BUILD_FUZZERS (which brings its own sanitizers) do not mix: use separate build folders")
endif()

set(LACT_SANITIZE_OPT "-O1" CACHE STRING "Optimization level of a sanitizer build (-O1; -O0 compiles the LibTorch-heavy files much faster)")
# -O1: fast enough for the integration tests, precise enough for the reports. -g1 (line tables):
# enough for symbolized reports (function, file:line, inlined frames), and much cheaper to compile
# than -g's variable tracking over the LibTorch headers on a 2-core machine.
set(_lact_san_common ${LACT_SANITIZE_OPT} -g1 -fno-omit-frame-pointer)
if(LACT_SANITIZE STREQUAL "address")
  add_compile_options(${_lact_san_common} -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(LACT_SANITIZE STREQUAL "thread")
  add_compile_options(${_lact_san_common} -fsanitize=thread)
  add_link_options(-fsanitize=thread)
else()
  message(FATAL_ERROR "LACT_SANITIZE must be none, address or thread (got '${LACT_SANITIZE}')")
endif()
message(STATUS "lact: sanitizer build, LACT_SANITIZE=${LACT_SANITIZE}")
