# make_ini_page.cmake: layerhost.ini(5) from its template. Run by
# man/CMakeLists.txt with -DTOOL (lh-man-plugin-keys), -DPLUGIN_DIR,
# -DPLUGINS (names joined with ','), -DTEMPLATE and -DOUTPUT. Each
# '.\" %NAME%' line of the template (configured) is replaced by what the tool prints.
string(REPLACE "," ";" plugins "${PLUGINS}")
file(READ ${TEMPLATE} page)
foreach(part PLUGIN_KEYS INI_MAX_LINE)
  if(part STREQUAL "PLUGIN_KEYS")
    set(args keys ${PLUGIN_DIR} ${plugins})
  else()
    set(args max-line)
  endif()
  execute_process(COMMAND ${TOOL} ${args} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TOOL} ${args} failed (${rc})")
  endif()
  set(marker ".\\\" %${part}%\n")
  string(FIND "${page}" "${marker}" at)
  if(at LESS 0)
    message(FATAL_ERROR "${TEMPLATE}: no '.\\\" %${part}%' line")
  endif()
  string(REPLACE "${marker}" "${text}" page "${page}")
endforeach()
file(WRITE ${OUTPUT} "${page}")
