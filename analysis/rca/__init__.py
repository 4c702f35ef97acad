"""Root-cause analysis without an LLM: rank the entities (services, pods, nodes, GPUs, clocks)
whose signals changed first and most around an incident, with the evidence for each."""
