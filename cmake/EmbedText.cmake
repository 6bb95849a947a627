# tessel_embed_text(TARGET FILE NAMESPACE SYMBOL): compiles the text of FILE
# into TARGET as `const char* const NAMESPACE::SYMBOL`, so the binaries need
# no data directory at run time. CMake re-runs when FILE changes.
function(tessel_embed_text target file namespace symbol)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(READ ${file} TESSEL_EMBED_TEXT)
  file(RELATIVE_PATH TESSEL_EMBED_SOURCE ${PROJECT_SOURCE_DIR} ${file})
  set(TESSEL_EMBED_NAMESPACE ${namespace})
  set(TESSEL_EMBED_SYMBOL ${symbol})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.cpp)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/embed_text.cpp.in ${out} @ONLY)
  target_sources(${target} PRIVATE ${out})
endfunction()
