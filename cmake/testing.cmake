# Test helpers shared by every component.
#
# kyc_add_unit_test(NAME SOURCES... LIBS ...)   a cmocka test binary registered with CTest.
# kyc_add_fuzzer(NAME SOURCES... LIBS ... CORPUS DIR)
#   A libFuzzer target (LLVMFuzzerTestOneInput). With KYC_FUZZ=ON and clang it links
#   -fsanitize=fuzzer and the CTest entry fuzzes briefly from the committed corpus;
#   otherwise it links fuzz/replay_main.c, which replays the corpus and a bounded number of
#   deterministic mutations of it, so every build still exercises the parser on hostile input.
set(KYC_TEST_LABELS unit)

function(kyc_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT 600
    ENVIRONMENT "KYC_BUILD_DIR=${CMAKE_BINARY_DIR};KYC_SOURCE_DIR=${CMAKE_SOURCE_DIR};KYC_SHARED_DIR=${CMAKE_SOURCE_DIR}/../shared")
endfunction()

function(kyc_add_fuzzer name)
  cmake_parse_arguments(F "" "CORPUS;RUNS" "SOURCES;LIBS" ${ARGN})
  if(NOT F_RUNS)
    set(F_RUNS 20000)
  endif()
  if(KYC_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    add_executable(${name} ${F_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    # New inputs go to a scratch directory (libFuzzer writes to the first one), never into the
    # committed corpus.
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${name}.corpus)
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME ${name} COMMAND ${name} -runs=${F_RUNS} -max_len=70000 ${scratch} ${F_CORPUS})
  else()
    add_executable(${name} ${F_SOURCES} ${CMAKE_SOURCE_DIR}/fuzz/replay_main.c)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    add_test(NAME ${name} COMMAND ${name} ${F_CORPUS} ${F_RUNS})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()
