# lethe-agent: config, kvno allocation, keytab-first rotation, backoff and
# pruning (test_agent); identity, the registration client against a fake
# registrar, KeyRequest checks and the listener (test_agent_net).
lethe_unit_test(test_agent test_agent.c)
target_link_libraries(test_agent PRIVATE lethe-agent-core)
lethe_unit_test(test_agent_net test_agent_net.c test_agent_pki.c)
target_link_libraries(test_agent_net PRIVATE lethe-agent-core)
