target_sources(lethe PRIVATE ${CMAKE_CURRENT_LIST_DIR}/log.c)
