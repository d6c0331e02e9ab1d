# The acceptor: AP-REQ verification, replay cache, keytab reloads, AP-REP, KRB-ERROR.
lethe_unit_test(test_acceptor test_acceptor.c)
find_package(Threads REQUIRED)
target_link_libraries(test_acceptor PRIVATE Threads::Threads)
