# px_embed_files(OUT ARRAY COUNT SUFFIX FILES...): writes a C file defining
#   const px_kernel_source ARRAY[] = {{"name", "text"}, ...}; const int COUNT;
# with each file's bytes as a hex array, so no escaping can go wrong. The
# file is regenerated at build time when an input changes.
set(PX_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/EmbedScript.cmake)
function(px_embed_files out array count suffix)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DARRAY=${array} -DCOUNT=${count} -DSUFFIX=${suffix}
            "-DFILES=${ARGN}" -P ${PX_EMBED_SCRIPT}
    DEPENDS ${ARGN} ${PX_EMBED_SCRIPT}
    COMMENT "Embedding ${array}"
    VERBATIM)
endfunction()
