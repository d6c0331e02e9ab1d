# lethe-agent's state files (src/agent/state.c).
if(TARGET lethe-agent-core)
  lethe_fuzz_target(fuzz_agent_state fuzz_agent_state.c)
  target_link_libraries(fuzz_agent_state PRIVATE lethe-agent-core)
endif()
