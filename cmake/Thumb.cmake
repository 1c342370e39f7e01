# Thumb programs for the virtual boards: built with arm-none-eabi-gcc into a
# raw binary and embedded into a host C file as a byte array, so tests and
# tools carry the exact code the virtual core executes.
find_program(ARM_GCC arm-none-eabi-gcc REQUIRED)
find_program(ARM_OBJCOPY arm-none-eabi-objcopy REQUIRED)

set(THUMB_BIN2C ${CMAKE_CURRENT_LIST_DIR}/bin2c.cmake)

# add_thumb_program(NAME SOURCES src... [LINKER_SCRIPT file] [CPU cpu])
# Produces ${NAME}_bin.c defining `const unsigned char NAME[]` and
# `const unsigned long NAME_len`; the path lands in ${NAME}_SOURCE.
function(add_thumb_program name)
  cmake_parse_arguments(TP "" "LINKER_SCRIPT;CPU" "SOURCES" ${ARGN})
  if(NOT TP_CPU)
    set(TP_CPU cortex-m0plus)
  endif()
  set(elf ${CMAKE_CURRENT_BINARY_DIR}/${name}.elf)
  set(bin ${CMAKE_CURRENT_BINARY_DIR}/${name}.bin)
  set(csrc ${CMAKE_CURRENT_BINARY_DIR}/${name}_bin.c)
  set(srcs)
  foreach(s ${TP_SOURCES})
    list(APPEND srcs ${CMAKE_CURRENT_SOURCE_DIR}/${s})
  endforeach()
  add_custom_command(
    OUTPUT ${bin}
    COMMAND ${ARM_GCC} -mcpu=${TP_CPU} -mthumb -Os -g -ffreestanding -nostdlib
            -fno-builtin -fno-jump-tables -Wall -Wextra -Werror -Wl,--gc-sections -ffunction-sections
            -T ${TP_LINKER_SCRIPT} -o ${elf} ${srcs} -lgcc
    COMMAND ${ARM_OBJCOPY} -O binary ${elf} ${bin}
    DEPENDS ${srcs} ${TP_LINKER_SCRIPT}
    COMMENT "Thumb program ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${csrc}
    COMMAND ${CMAKE_COMMAND} -DIN=${bin} -DOUT=${csrc} -DNAME=${name} -P ${THUMB_BIN2C}
    DEPENDS ${bin} ${THUMB_BIN2C}
    VERBATIM)
  set(${name}_SOURCE ${csrc} PARENT_SCOPE)
endfunction()
