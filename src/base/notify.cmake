# sd_notify for Type=notify units (notify.h). -DLETHE_SYSTEMD=OFF builds
# without libsystemd: lethe_notify is then a no-op.
option(LETHE_SYSTEMD "Tell systemd when daemons are ready (needs libsystemd)" ON)
target_sources(lethe PRIVATE ${CMAKE_CURRENT_LIST_DIR}/notify.c)
if(LETHE_SYSTEMD)
  pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
  target_link_libraries(lethe PRIVATE PkgConfig::LIBSYSTEMD)
  target_compile_definitions(lethe PRIVATE LETHE_HAVE_SYSTEMD=1)
endif()
