"""The optional local LLM: read-only tools, chat, grounded explanations, the MCP server."""
