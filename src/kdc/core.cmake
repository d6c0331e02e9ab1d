# The KDC core (AS, TGS, snapshot), included by the root CMakeLists.txt.
target_sources(lethe PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/as.c
  ${CMAKE_CURRENT_LIST_DIR}/dispatch.c
  ${CMAKE_CURRENT_LIST_DIR}/etype.c
  ${CMAKE_CURRENT_LIST_DIR}/issue.c
  ${CMAKE_CURRENT_LIST_DIR}/kcrypto.c
  ${CMAKE_CURRENT_LIST_DIR}/kdc_error.c
  ${CMAKE_CURRENT_LIST_DIR}/kpasswd.c
  ${CMAKE_CURRENT_LIST_DIR}/preauth.c
  ${CMAKE_CURRENT_LIST_DIR}/preauth_guard.c
  ${CMAKE_CURRENT_LIST_DIR}/snapshot.c
  ${CMAKE_CURRENT_LIST_DIR}/tgs.c
  ${CMAKE_CURRENT_LIST_DIR}/ticket.c)
